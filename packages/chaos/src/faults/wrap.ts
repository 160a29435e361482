/** Faults around any async function. */
import { type FaultCore, type FaultRecord, faultError } from './record.js';
import { hang, pause, signalOf } from './wait.js';

/**
 * Wraps `fn` so the faults on `target` apply to its calls. With no fault on the target a call costs
 * one length check on top of the direct call. The call's AbortSignal (last argument, or its
 * `signal`) cuts latency and hangs short.
 */
export function wrapFunction<A extends unknown[], R>(
  core: FaultCore,
  target: string,
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  const slot = core.slot(target);
  return function faulty(this: unknown, ...args: A): Promise<R> {
    if (slot.calls.length === 0) return Reflect.apply(fn, this, args);
    const terminal = core.decide(slot);
    const delay = core.delay;
    if (terminal === undefined && delay === 0) return Reflect.apply(fn, this, args);
    return affect(core, delay, terminal, fn, this, args);
  };
}

async function affect<A extends unknown[], R>(
  core: FaultCore,
  delay: number,
  terminal: FaultRecord | undefined,
  fn: (...args: A) => Promise<R>,
  self: unknown,
  args: A,
): Promise<R> {
  const signal = signalOf(args);
  if (delay > 0) await pause(core.time, delay, signal);
  if (terminal !== undefined) {
    const s = terminal.spec;
    if (s.kind === 'error' || (s.kind === 'block' && s.mode === 'refuse'))
      throw faultError(terminal);
    await hang(terminal, signal);
  }
  return Reflect.apply(fn, self, args);
}
