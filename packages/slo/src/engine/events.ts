/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Disposer = () => void;

/** A typed event: subscribe with a listener, get back a {@link Disposer}. */
export type Listen<T> = (listener: (event: T) => void) => Disposer;

/** @internal Listener list; `active` lets callers skip building events nobody listens to. */
export class Emitter<T> {
  #listeners: Array<(event: T) => void> = [];

  get active(): boolean {
    return this.#listeners.length > 0;
  }

  readonly listen: Listen<T> = (listener) => {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function, got ${typeof listener}`);
    }
    // Copy on write so a listener that unsubscribes during emit does not skip its neighbour.
    this.#listeners = [...this.#listeners, listener];
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners = this.#listeners.toSpliced(i, 1);
    };
  };

  /** A throwing listener becomes a process warning: an alert hook must not break evaluation. */
  emit(event: T): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        process.emitWarning(
          err instanceof Error ? err : new Error(String(err)),
          'NinesListenerError',
        );
      }
    }
  }
}
