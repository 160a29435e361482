import { Context } from './context.js';
import { InterceptorPolicy, Segment } from './interceptor.js';
import {
  type AltOf,
  type Link,
  type Operation,
  type Policy,
  PolicyBase,
  RUN,
  refuseCall,
} from './policy.js';
import { describe } from './validate.js';

/** A composition of policies made by {@link wrap}. */
export interface WrappedPolicy<Alt> extends Policy<Alt> {
  /** The composed policies, outermost first (nested wraps are flattened). */
  readonly policies: readonly Policy<unknown>[];
}

class Wrapped<Alt> extends PolicyBase<Alt> implements WrappedPolicy<Alt> {
  readonly policies: readonly PolicyBase<unknown>[];
  readonly #head: PolicyBase<unknown>;
  readonly #chain: Link | null;
  readonly #steps: readonly PolicyBase<unknown>[];

  constructor(policies: PolicyBase<unknown>[]) {
    super();
    this.policies = Object.freeze(policies);
    const steps = fuse(policies);
    this.#steps = steps;
    this.#head = steps[0]!;
    let chain: Link | null = null;
    for (let i = steps.length - 1; i >= 1; i--) chain = { policy: steps[i]!, next: chain };
    this.#chain = chain;
  }

  // Its own execute, so that the call into the head policy is not shared with every other policy
  // class (a call site that sees many targets is not inlined).
  override execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T | Alt> {
    if (typeof operation !== 'function' || signal !== undefined) {
      const refused = refuseCall(operation, signal);
      if (refused !== undefined) return refused;
    }
    return this.#head[RUN](operation, Context.root(signal), this.#chain) as Promise<T | Alt>;
  }

  [RUN]<T>(fn: Operation<T>, ctx: Context, next: Link | null): Promise<T | Alt> {
    let chain = this.#chain;
    if (next !== null) {
      // Only when this composition sits inside another chain (e.g. under a hedge): append it.
      chain = next;
      for (let i = this.#steps.length - 1; i >= 1; i--) {
        chain = { policy: this.#steps[i]!, next: chain };
      }
    }
    return this.#head[RUN](fn, ctx, chain) as Promise<T | Alt>;
  }
}

/**
 * Merges neighbouring interceptors into segments of at most two (one promise reaction per
 * segment). Two covers nearly every composition (a breaker and a timeout), and a fixed size lets
 * the hosts keep a segment's state in locals instead of an array per call; a longer run becomes
 * several segments, each entered in turn.
 */
function fuse(policies: readonly PolicyBase<unknown>[]): PolicyBase<unknown>[] {
  const steps: PolicyBase<unknown>[] = [];
  let pending: InterceptorPolicy<unknown> | null = null;
  for (const p of policies) {
    if (p instanceof InterceptorPolicy) {
      if (pending === null) pending = p;
      else {
        steps.push(new Segment([pending, p]));
        pending = null;
      }
    } else {
      if (pending !== null) steps.push(pending);
      pending = null;
      steps.push(p);
    }
  }
  if (pending !== null) steps.push(pending);
  return steps;
}

/**
 * Composes policies, outermost first: `wrap(retry, breaker, timeout)` retries calls that go
 * through the breaker, each attempt under the timeout. The result is itself a policy and keeps the
 * fallback types of its parts.
 *
 * @example
 * const policy = wrap(retry({ maxRetries: 3 }), circuitBreaker(), timeout(2_000));
 * await policy.execute(({ signal }) => fetch(url, { signal }));
 */
export function wrap<const P extends readonly Policy<unknown>[]>(
  ...policies: P
): WrappedPolicy<AltOf<P[number]>> {
  if (policies.length === 0) throw new TypeError('wrap: at least one policy is required');
  const flat: PolicyBase<unknown>[] = [];
  policies.forEach((p, i) => {
    if (p instanceof Wrapped) flat.push(...(p.policies as PolicyBase<unknown>[]));
    else if (p instanceof PolicyBase) flat.push(p);
    else throw new TypeError(`wrap: argument ${i + 1} is not a nines policy, got ${describe(p)}`);
  });
  return new Wrapped<AltOf<P[number]>>(flat);
}
