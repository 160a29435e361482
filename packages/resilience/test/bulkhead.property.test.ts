import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BulkheadRejectedError, bulkhead } from '../src/index.js';

type Command =
  | { kind: 'arrive'; abortable: boolean; syncThrow: boolean }
  | { kind: 'finish'; pick: number; ok: boolean }
  | { kind: 'abort'; pick: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('arrive' as const),
    abortable: fc.boolean(),
    syncThrow: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), ok: fc.boolean() }),
  fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }),
);

interface Call {
  readonly id: number;
  readonly controller: AbortController | null;
  readonly syncThrow: boolean;
  settlements: number;
  outcome: 'pending' | 'ok' | 'error' | 'rejected' | 'aborted';
  finish?: (ok: boolean) => void;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('bulkhead (property)', () => {
  it('matches a model: never more than limit executing or queue queued, FIFO, one settlement per call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(command, { maxLength: 60 }),
        async (limit, queue, commands) => {
          const b = bulkhead(limit, queue);
          const calls: Call[] = [];
          const started: number[] = [];
          const running = new Set<number>();
          // The model.
          let modelExecuting = 0;
          const modelQueue: number[] = [];
          const expectedStarts: number[] = [];

          const modelStart = (id: number) => {
            expectedStarts.push(id);
            if (calls[id]!.syncThrow) return; // ends as soon as it starts
            modelExecuting++;
          };
          const modelDrain = () => {
            while (modelExecuting < limit && modelQueue.length > 0) modelStart(modelQueue.shift()!);
          };

          const check = () => {
            expect(b.executing).toBeLessThanOrEqual(limit);
            expect(b.queued).toBeLessThanOrEqual(queue);
            expect(b.executing).toBe(modelExecuting);
            expect(b.queued).toBe(modelQueue.length);
            expect(b.executing).toBe(running.size);
            expect(started).toEqual(expectedStarts);
            for (const c of calls) expect(c.settlements).toBeLessThanOrEqual(1);
          };

          const arrive = (abortable: boolean, syncThrow: boolean) => {
            const id = calls.length;
            const call: Call = {
              id,
              controller: abortable ? new AbortController() : null,
              syncThrow,
              settlements: 0,
              outcome: 'pending',
            };
            calls.push(call);
            const p = b.execute(() => {
              started.push(id);
              if (syncThrow) throw new Error(`sync ${id}`);
              running.add(id);
              return new Promise<number>((resolve, reject) => {
                call.finish = (ok) => {
                  running.delete(id);
                  if (ok) resolve(id);
                  else reject(new Error(`failed ${id}`));
                };
              });
            }, call.controller?.signal);
            p.then(
              () => {
                call.settlements++;
                call.outcome = 'ok';
              },
              (err: unknown) => {
                call.settlements++;
                if (err instanceof BulkheadRejectedError) call.outcome = 'rejected';
                else if (err === call.controller?.signal.reason) call.outcome = 'aborted';
                else call.outcome = 'error';
              },
            );
            // Model.
            if (modelExecuting < limit) modelStart(id);
            else if (modelQueue.length < queue) modelQueue.push(id);
            else (call as { expectRejected?: boolean }).expectRejected = true;
            modelDrain();
          };

          for (const cmd of commands) {
            if (cmd.kind === 'arrive') arrive(cmd.abortable, cmd.syncThrow);
            else if (cmd.kind === 'finish') {
              const ids = [...running];
              if (ids.length === 0) continue;
              const id = ids[cmd.pick % ids.length]!;
              modelExecuting--;
              calls[id]!.finish!(cmd.ok);
              // The slot is handed over once the finished call's promise settles.
              await flush();
              modelDrain();
            } else {
              const open = calls.filter((c) => c.controller && c.settlements === 0);
              if (open.length === 0) continue;
              const c = open[cmd.pick % open.length]!;
              const i = modelQueue.indexOf(c.id);
              if (i >= 0) modelQueue.splice(i, 1);
              c.controller!.abort(new Error(`abort ${c.id}`));
            }
            await flush();
            check();
          }

          // Finish everything (queued calls get slots as running ones end).
          while (running.size > 0) {
            const id = [...running][0]!;
            modelExecuting--;
            calls[id]!.finish!(true);
            await flush();
            modelDrain();
            await flush();
            check();
          }
          await flush();
          expect(b.executing).toBe(0);
          expect(b.queued).toBe(0);
          for (const c of calls) {
            expect(c.settlements).toBe(1);
            const rejected = (c as { expectRejected?: boolean }).expectRejected === true;
            expect(c.outcome === 'rejected').toBe(rejected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
