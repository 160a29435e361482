import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileStore, loadSloFile, type Slo, type SloTracker, sloTracker } from '@nines/slo';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
/** Where the SLO command tests run: spec, policy and incident files are named relative to it. */
export const sloFixtures = fileURLToPath(new URL('./fixtures/slo/', import.meta.url));

/** Runs the built CLI as a real child process in the SLO fixtures directory. */
export function nines(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: sloFixtures, timeout: 20_000 },
      (error, out, err) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, out, err });
      },
    );
  });
}

/** The time the snapshots are taken at. */
export const T = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;

/** Snapshot files written by the library itself, and trackers holding the same state. */
export interface Snapshots {
  readonly dir: string;
  /** Holds only the two single-snapshot files. */
  readonly stateDir: string;
  /** `availability`: 20 bad in 100,020 two days ago, 80 % of the budget left. */
  readonly healthyFile: string;
  /** `checkout`: 10 % errors in the last half hour, budget overspent and the page firing. */
  readonly exhaustedFile: string;
  /** `{ "orders/availability": …, "orders/checkout": … }`. */
  readonly mapFile: string;
  readonly healthy: SloTracker;
  readonly exhausted: SloTracker;
  readonly slos: readonly Slo[];
}

/** Writes a healthy and an exhausted snapshot with `sloTracker` and `fileStore`. */
export async function writeSnapshots(): Promise<Snapshots> {
  const slos = await loadSloFile(join(sloFixtures, 'orders.yaml'));
  const slo = (name: string) => slos.find((s) => s.name === name)!;
  let now = T - 2 * 24 * 60 * MINUTE;
  const clock = { now: () => now };

  const healthy = sloTracker(slo('availability'), { clock });
  healthy.record({ good: 100_000, bad: 20 });
  const exhausted = sloTracker(slo('checkout'), { clock });
  now = T - 30 * MINUTE;
  exhausted.record({ good: 900, bad: 100 });
  now = T - 2 * MINUTE;
  exhausted.record({ good: 90, bad: 10 });
  now = T;

  const dir = await mkdtemp(join(tmpdir(), 'nines-slo-'));
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  const healthyFile = join(stateDir, 'availability.json');
  const exhaustedFile = join(stateDir, 'checkout.json');
  await fileStore(healthyFile).save(healthy.snapshot());
  await fileStore(exhaustedFile).save(exhausted.snapshot());
  const mapFile = join(dir, 'map.json');
  await writeFile(
    mapFile,
    JSON.stringify({
      'orders/availability': healthy.snapshot(),
      'orders/checkout': exhausted.snapshot(),
      // Another service's SLO: a shared map may hold it, the report ignores it.
      'payments/availability': { ...healthy.snapshot() },
    }),
  );
  return { dir, stateDir, healthyFile, exhaustedFile, mapFile, healthy, exhausted, slos };
}
