// End to end with real processes: two services built with setupTelemetry (from the built package;
// `npm test` builds first) call each other over loopback and export spans over OTLP/HTTP to a
// receiver in this process.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOtlpReceiver, type OtlpReceiver } from '../src/trace-view/otlp-receiver.js';
import { renderWaterfall } from '../src/trace-view/waterfall.js';

const FIXTURE = new URL('./fixtures/e2e-service.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nines-e2e-'));
const children: ChildProcess[] = [];
let receiver: OtlpReceiver;
let otlpUrl: string;

beforeAll(async () => {
  receiver = createOtlpReceiver();
  otlpUrl = `${await receiver.listen()}/v1/traces`;
});
afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port from ${env.SERVICE}: ${out}`)),
      15_000,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${env.SERVICE} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lines = (file: string): Record<string, unknown>[] => {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('two services on loopback', () => {
  it('share one trace id across a call, in spans and in both services’ log lines', async () => {
    const backLog = join(dir, 'back.log');
    const frontLog = join(dir, 'front.log');
    const back = await start({ SERVICE: 'back', OTLP_URL: otlpUrl, LOG_FILE: backLog });
    const front = await start({
      SERVICE: 'front',
      OTLP_URL: otlpUrl,
      LOG_FILE: frontLog,
      DOWNSTREAM: back.url,
    });

    const res = await fetch(`${front.url}/chain`, {
      headers: { 'x-correlation-id': 'checkout-1' },
    });
    expect(await res.text()).toBe('front>back');
    expect(res.headers.get('x-correlation-id')).toBe('checkout-1');

    // Spans: front SERVER -> front CLIENT -> back SERVER, one trace.
    const spans = await until('three spans', () => {
      const s = receiver.spans();
      return s.length >= 3 && s;
    });
    const frontServer = spans.find((s) => s.service === 'front' && s.kind === 'server');
    const client = spans.find((s) => s.service === 'front' && s.kind === 'client');
    const backServer = spans.find((s) => s.service === 'back' && s.kind === 'server');
    expect(frontServer?.name).toBe('GET /chain');
    expect(backServer?.name).toBe('GET /leaf');
    const traceId = frontServer?.traceId as string;
    expect(client?.traceId).toBe(traceId);
    expect(backServer?.traceId).toBe(traceId);
    expect(client?.parentSpanId).toBe(frontServer?.spanId);
    expect(backServer?.parentSpanId).toBe(client?.spanId);
    expect(client?.attributes['http.response.status_code']).toBe(200);

    // Logs: every line written inside the request carries the trace id and correlation id.
    await stop(front.child);
    await stop(back.child);
    const frontLines = lines(frontLog);
    const backLines = lines(backLog);
    for (const [name, ls, msgs] of [
      ['front', frontLines, ['calling downstream', 'request completed']],
      ['back', backLines, ['leaf work', 'request completed']],
    ] as const) {
      for (const msg of msgs) {
        const line = ls.find((l) => l.msg === msg);
        expect(line, `${name}: ${msg}`).toMatchObject({
          service: name,
          trace_id: traceId,
          correlation_id: 'checkout-1',
        });
        expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/);
      }
    }
    expect(frontLines.find((l) => l.msg === 'request completed')).toMatchObject({
      method: 'GET',
      route: '/chain',
      status: 200,
    });

    // The waterfall of that trace shows both services.
    const view = renderWaterfall(receiver.trace(traceId), { width: 100 });
    expect(view).toContain('front');
    expect(view).toContain('back');
    expect(view).toContain('GET /leaf');
  });

  it('keeps serving with the collector down or hanging, and counts the spans it could not send', async () => {
    // A collector that accepts connections and never answers.
    const hung = http.createServer(() => {});
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    try {
      const down = await start({
        SERVICE: 'down',
        OTLP_URL: 'http://127.0.0.1:9/v1/traces',
        DELAY_MS: '20',
        EXPORT_TIMEOUT_MS: '1000',
        LOG_FILE: join(dir, 'down.log'),
      });
      const slow = await start({
        SERVICE: 'slow',
        LOG_FILE: join(dir, 'slow.log'),
        OTLP_URL: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/v1/traces`,
        MAX_QUEUE: '50',
        DELAY_MS: '20',
        EXPORT_TIMEOUT_MS: '60000',
      });
      for (const svc of [down, slow]) {
        const statuses = await Promise.all(
          Array.from({ length: 300 }, () => fetch(`${svc.url}/leaf`).then((r) => r.status)),
        );
        expect(statuses.every((s) => s === 200)).toBe(true);
      }
      const metric = async (url: string, outcome: string) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const m = new RegExp(`nines_telemetry_spans\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
        return Number(m?.[1] ?? Number.NaN);
      };
      // Refused connections: batches fail fast and are counted.
      await until('failed spans counted', async () => (await metric(down.url, 'failed')) > 0);
      // A hung collector: one export in flight, the queue fills to 50, the rest are dropped.
      expect(await metric(slow.url, 'dropped')).toBeGreaterThanOrEqual(300 - 50 - 50);
      expect(await metric(slow.url, 'queued')).toBeLessThanOrEqual(50);
      expect((await fetch(`${slow.url}/leaf`)).status).toBe(200);
      // Shutdown is bounded (5 s by default) even though an export hangs.
      const t0 = Date.now();
      await stop(slow.child);
      expect(slow.child.exitCode).toBe(0);
      expect(Date.now() - t0).toBeLessThan(9000);
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });
});
