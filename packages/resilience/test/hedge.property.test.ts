import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hedge, ManualClock } from '../src/index.js';

type Outcome = 'ok' | 'busy' | 'fail';

const script = fc.array(
  fc.record({
    after: fc.integer({ min: 0, max: 120 }),
    outcome: fc.constantFrom<Outcome>('ok', 'busy', 'fail'),
  }),
  { minLength: 4, maxLength: 4 },
);

describe('hedge (property)', () => {
  it('settles once with the first acceptable result, uses every attempt before failing, leaves nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 5, max: 60 }),
        script,
        fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
        async (maxHedges, delay, attempts, cancelAt) => {
          const clock = new ManualClock();
          const h = hedge({ delay, maxHedges, clock, isAcceptable: (r) => r !== 'busy' });
          const ac = new AbortController();
          const started: number[] = [];
          const signals: AbortSignal[] = [];
          // Completion order of attempts that ended on their own (not aborted).
          const ended: Array<{ attempt: number; outcome: Outcome }> = [];
          let settlements = 0;
          let lateEnds = 0;
          const p = h.execute(({ signal, attempt }) => {
            started.push(attempt);
            signals.push(signal);
            const { after, outcome } = attempts[attempt]!;
            return new Promise<string>((resolve, reject) => {
              const timer = clock.setTimeout(() => {
                // Once the call has settled, every attempt still running must have been aborted.
                if (settlements > 0) lateEnds++;
                ended.push({ attempt, outcome });
                if (outcome === 'fail') reject(new Error(`fail ${attempt}`));
                else resolve(outcome === 'ok' ? `ok ${attempt}` : 'busy');
              }, after);
              signal.addEventListener('abort', () => {
                clock.clearTimeout(timer);
                reject(signal.reason);
              });
            });
          }, ac.signal);
          let result: { ok: boolean; value: unknown } | undefined;
          p.then(
            (value) => {
              settlements++;
              result = { ok: true, value };
            },
            (value: unknown) => {
              settlements++;
              result = { ok: false, value };
            },
          );
          const cancelReason = new Error('cancelled');
          if (cancelAt !== undefined) {
            clock.setTimeout(() => ac.abort(cancelReason), cancelAt);
          }
          await clock.advance(2_000);

          expect(settlements).toBe(1);
          expect(lateEnds).toBe(0);
          expect(started.length).toBeLessThanOrEqual(maxHedges + 1);
          expect(started).toEqual(started.map((_, i) => i));
          // Every attempt that did not end on its own was aborted; nothing listens to the caller.
          const endedIds = new Set(ended.map((e) => e.attempt));
          for (const a of started) {
            if (!endedIds.has(a)) expect(signals[a]!.aborted).toBe(true);
          }
          expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
          expect(clock.pendingTimers).toBe(0);

          const firstOk = ended.find((e) => e.outcome === 'ok');
          if (result!.ok && result!.value !== 'busy') {
            // The winner is the first acceptable result to arrive.
            expect(result!.value).toBe(`ok ${firstOk!.attempt}`);
          } else if (result!.value === cancelReason) {
            expect(ac.signal.aborted).toBe(true);
          } else {
            // No acceptable result: every attempt was used, and the call ends like the last one.
            expect(firstOk).toBeUndefined();
            expect(started).toHaveLength(maxHedges + 1);
            expect(ended).toHaveLength(maxHedges + 1);
            const last = ended[ended.length - 1]!;
            if (last.outcome === 'fail') {
              expect(result).toEqual({ ok: false, value: new Error(`fail ${last.attempt}`) });
            } else {
              expect(result).toEqual({ ok: true, value: 'busy' });
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
