import { expect } from 'vitest';
import { SpecError } from '../src/index.js';

/** Runs `fn` and returns the SpecError it throws (failing the test if it throws anything else). */
export function catchSpec(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err;
  }
  expect.fail('expected a SpecError, nothing was thrown');
}

/** Awaits `promise` and returns the SpecError it rejects with. */
export async function rejectsSpec(promise: Promise<unknown>): Promise<SpecError> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return err;
  }
  expect.fail('expected a SpecError, the promise resolved');
}
