/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;

/**
 * A typed event: subscribe with a listener, get back a {@link Disposer}.
 *
 * @example
 * const off = breaker.onStateChange(({ from, to }) => console.log(from, '->', to));
 * off();
 */
export type Event<T> = (listener: (event: T) => void) => Disposer;

/**
 * Internal listener list. Callers test {@link Emitter.active} before building an event object, so
 * an event nobody listens to costs one property read.
 */
export class Emitter<T> {
  active = false;
  #listeners: Array<(event: T) => void> = [];
  readonly #onActiveChange: (() => void) | undefined;

  /** `onActiveChange` runs whenever {@link Emitter.active} flips, for owners that cache it. */
  constructor(onActiveChange?: () => void) {
    this.#onActiveChange = onActiveChange;
  }

  /** The public subscribe function, bound once. */
  readonly event: Event<T> = (listener) => {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function, got ${typeof listener}`);
    }
    // Copy on write so a listener that unsubscribes during emit does not skip its neighbour.
    this.#listeners = [...this.#listeners, listener];
    if (!this.active) {
      this.active = true;
      this.#onActiveChange?.();
    }
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) {
        const next = this.#listeners.slice();
        next.splice(i, 1);
        this.#listeners = next;
      }
      if (this.active && this.#listeners.length === 0) {
        this.active = false;
        this.#onActiveChange?.();
      }
    };
  };

  /**
   * Calls every listener. A listener that throws does not stop the others nor the policy: its
   * error becomes a process warning, because a metrics hook must not change a call's outcome.
   */
  emit(event: T): void {
    const list = this.#listeners;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(event);
      } catch (err) {
        process.emitWarning(
          err instanceof Error ? err : new Error(String(err)),
          'NinesListenerError',
        );
      }
    }
  }
}
