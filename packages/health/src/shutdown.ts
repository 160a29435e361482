import { Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import { constants } from 'node:os';
import {
  type Clock,
  type Disposer,
  type Event,
  NinesError,
  systemClock,
  TimeoutError,
} from '@nines/resilience';
import { booleanOption, clockOption, optionsObject } from '@nines/resilience/options';
import { type AttachableServer, ConnectionTracker } from './connections.js';
import { DEFAULTS, type ShutdownOptions } from './options.js';
import type { HealthState } from './state.js';

/**
 * Where a shutdown is:
 * - `'running'`: no shutdown has begun;
 * - `'draining'`: readiness fails, the servers still serve everything (drain delay);
 * - `'closing'`: no new connections; in-flight requests and tracked work may finish;
 * - `'hooks'`: cleanup hooks run, last registered first;
 * - `'done'`: the exit code is known (and `process.exit` is called unless `exit: false`).
 */
export type ShutdownPhase = 'running' | 'draining' | 'closing' | 'hooks' | 'done';

/** Emitted when a shutdown enters a phase. */
export interface ShutdownPhaseEvent {
  readonly phase: ShutdownPhase;
  /** What started the shutdown: the signal name, or the reason given to `shutdown()`. */
  readonly reason: string;
  /** `clock.now()` when the phase began. */
  readonly at: number;
}

/** What a cleanup hook receives. */
export interface ShutdownHookInfo {
  /** The name the hook was registered with. */
  readonly name: string;
  /** What started the shutdown: the signal name, or the reason given to `shutdown()`. */
  readonly reason: string;
  /**
   * Aborts when the hook's time is up or a second signal forces the exit: a hook that passes it
   * on (to `fetch`, a driver) stops its own work instead of leaking it.
   */
  readonly signal: AbortSignal;
  /** The hook's time budget (ms). */
  readonly timeoutMs: number;
}

/** A cleanup hook: close a pool, flush telemetry. Its result is ignored; throwing is a failure. */
export type ShutdownHook = (info: ShutdownHookInfo) => unknown | Promise<unknown>;

/** Options of {@link Shutdown.onShutdown}. */
export interface ShutdownHookOptions {
  /** This hook's time budget (ms). Default: the shutdown's `hookTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** How one cleanup hook ended. Anything but `'ok'` makes the exit code 1. */
export interface ShutdownHookResult {
  readonly name: string;
  /** `'aborted'`: a second signal forced the exit while the hook ran. */
  readonly outcome: 'ok' | 'error' | 'timeout' | 'aborted';
  readonly durationMs: number;
  /** What the hook threw or rejected with, for `'error'`. */
  readonly error?: unknown;
}

/** What was still running at the request deadline and was cut off. */
export interface ShutdownCutOff {
  /** HTTP requests whose connection was destroyed. */
  readonly requests: number;
  /** Names of tracked work (`begin()` / `track()`) that had not finished. */
  readonly work: readonly string[];
}

/** The outcome of a finished shutdown. */
export interface ShutdownReport {
  /** What started it: the signal name, or the reason given to `shutdown()`. */
  readonly reason: string;
  /** The exit code (see {@link createShutdown} for the table). */
  readonly code: number;
  /** The second signal that forced the exit, if one did. */
  readonly forcedBy?: NodeJS.Signals;
  /** Set when requests or work were cut off at the deadline. */
  readonly cutOff?: ShutdownCutOff;
  /** Every hook that ran, in the order it ran. */
  readonly hooks: readonly ShutdownHookResult[];
  /** From the start of the shutdown to its end, on the shutdown's clock. */
  readonly durationMs: number;
}

/** Graceful shutdown of a service: see {@link createShutdown}. */
export interface Shutdown {
  /**
   * Tracks `server`'s connections and requests so the shutdown can close idle ones at once and
   * wait for busy ones. Call it before or right after `listen()`: connections accepted earlier
   * are only seen from their next request. Several servers can be attached. Returns a disposer
   * that stops tracking (the server is then left alone by the shutdown).
   */
  attach(server: AttachableServer): Disposer;
  /**
   * Registers a cleanup hook. Hooks run after the servers are closed, one at a time, in reverse
   * order of registration (what was opened last is closed first), each within its own timeout.
   * A hook that throws, rejects or times out is reported (`onHook`, else a process warning),
   * makes the exit code 1, and does not stop the hooks after it.
   */
  onShutdown(name: string, hook: ShutdownHook, options?: ShutdownHookOptions): Disposer;
  /**
   * Makes the shutdown wait for `work` (a job, a message being handled) as it waits for requests,
   * within `requestTimeoutMs`. Returns `work` itself.
   */
  track<T>(work: Promise<T>, name?: string): Promise<T>;
  /** Starts a unit of work the shutdown waits for; call the returned function when it is done. */
  begin(name?: string): () => void;
  /**
   * Starts the shutdown (as a signal would) and resolves with the exit code. Calling it again
   * returns the same promise.
   */
  shutdown(reason?: string): Promise<number>;
  /**
   * Removes the signal listeners and stops tracking every server. A shutdown already under way
   * goes on.
   */
  dispose(): void;
  /** The current phase. */
  readonly phase: ShutdownPhase;
  /** The outcome, once the phase is `'done'`. */
  readonly report: ShutdownReport | undefined;
  /** Requests in flight on attached servers plus tracked work not yet done. */
  readonly inFlight: number;
  /** Fires on every phase change. */
  readonly onPhase: Event<ShutdownPhaseEvent>;
  /** Fires after each hook. When nobody listens, failed hooks become process warnings. */
  readonly onHook: Event<ShutdownHookResult>;
  /** Fires when requests or work are cut off. When nobody listens, it is a process warning. */
  readonly onCutOff: Event<ShutdownCutOff>;
}

/** A second signal forced the exit before the graceful shutdown finished. */
export class ShutdownForcedError extends NinesError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super('ESHUTDOWNFORCED', `shutdown forced by a second signal (${signal})`);
    this.signal = signal;
  }
}

/** Exit code of a clean shutdown. */
const EXIT_CLEAN = 0;
/** Exit code when requests or work were cut off, or a hook failed or timed out. */
const EXIT_FAILED = 1;
/** Node's timers fire after 1 ms for any delay above this, so larger values are refused. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const OWNER = 'createShutdown';
const KNOWN = [
  'signals',
  'drainDelayMs',
  'requestTimeoutMs',
  'hookTimeoutMs',
  'exit',
  'clock',
] as const;
/** Signals a process cannot catch. */
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/** A minimal typed event list; a failing listener becomes a warning, never a crash. */
class Emitter<T> {
  #listeners: Array<(event: T) => void> = [];

  get active(): boolean {
    return this.#listeners.length > 0;
  }

  readonly event: Event<T> = (listener) => {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function, got ${describe(listener)}`);
    }
    // Copy on write so a listener that unsubscribes during emit does not skip its neighbour.
    this.#listeners = [...this.#listeners, listener];
    let disposed = false;
    return () => {
      if (disposed) return;
      disposed = true;
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  };

  emit(event: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(
          err instanceof Error ? err : new Error(String(err)),
          'NinesListenerError',
        );
      }
    }
  }
}

interface Hook {
  readonly name: string;
  readonly hook: ShutdownHook;
  readonly timeoutMs: number;
}

interface Resolved {
  readonly signals: readonly NodeJS.Signals[];
  readonly drainDelayMs: number;
  readonly requestTimeoutMs: number;
  readonly hookTimeoutMs: number;
  readonly exit: boolean;
  readonly clock: Clock;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

function msOption(owner: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
    throw new TypeError(
      `${owner}: option "${name}" must be a number of milliseconds from 0 to ${MAX_DELAY_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

function resolveOptions(options: unknown): Resolved {
  const o = optionsObject<ShutdownOptions>(OWNER, options, KNOWN);
  const d = DEFAULTS.shutdown;

  let signals: readonly NodeJS.Signals[] = d.signals;
  if (o.signals !== undefined) {
    if (!Array.isArray(o.signals)) {
      throw new TypeError(
        `${OWNER}: option "signals" must be an array of signal names, got ${describe(o.signals)}`,
      );
    }
    for (const s of o.signals as unknown[]) {
      if (typeof s !== 'string' || !(s in constants.signals) || UNCATCHABLE.has(s)) {
        throw new TypeError(
          `${OWNER}: option "signals" must hold catchable signal names such as "SIGTERM", got ${describe(s)}`,
        );
      }
    }
    signals = [...new Set(o.signals)];
  }

  return {
    signals,
    drainDelayMs: msOption(OWNER, 'drainDelayMs', o.drainDelayMs, d.drainDelayMs),
    requestTimeoutMs: msOption(OWNER, 'requestTimeoutMs', o.requestTimeoutMs, d.requestTimeoutMs),
    hookTimeoutMs: msOption(OWNER, 'hookTimeoutMs', o.hookTimeoutMs, d.hookTimeoutMs),
    exit: booleanOption(OWNER, 'exit', o.exit, d.exit),
    clock: clockOption<Clock>(OWNER, o.clock, systemClock),
  };
}

/** 128 + the signal's number, as a shell reports a process killed by that signal. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

class GracefulShutdown implements Shutdown {
  readonly #state: HealthState;
  readonly #o: Resolved;
  readonly #clock: Clock;
  readonly #tracker = new ConnectionTracker();
  readonly #hooks: Hook[] = [];
  /** Tracked work in progress: id -> name. */
  readonly #work = new Map<number, string>();
  #workSeq = 0;
  #phase: ShutdownPhase = 'running';
  #reason = '';
  #startedAt = 0;
  #promise: Promise<number> | undefined;
  #resolve: ((code: number) => void) | undefined;
  #report: ShutdownReport | undefined;
  #forcedBy: NodeJS.Signals | undefined;
  #cutOff: ShutdownCutOff | undefined;
  readonly #hookResults: ShutdownHookResult[] = [];
  /** Resolves when a second signal forces the exit, so every wait can give up at once. */
  #forced: Promise<void>;
  #onForced!: () => void;
  /** Timers of the step under way, cleared when it ends or the exit is forced. */
  readonly #timers = new Set<unknown>();
  /** Called when requests or work finish while the shutdown waits for them. */
  #wake: (() => void) | undefined;
  /** The hook running now, so a forced exit can abort and report it. */
  #current:
    | { readonly hook: Hook; readonly controller: AbortController; readonly started: number }
    | undefined;
  #listening = false;
  readonly #phaseEvents = new Emitter<ShutdownPhaseEvent>();
  readonly #hookEvents = new Emitter<ShutdownHookResult>();
  readonly #cutOffEvents = new Emitter<ShutdownCutOff>();
  readonly onPhase = this.#phaseEvents.event;
  readonly onHook = this.#hookEvents.event;
  readonly onCutOff = this.#cutOffEvents.event;

  /** One listener for every signal, kept so that it can be removed exactly. */
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    if (this.#promise === undefined) void this.shutdown(signal);
    else this.#force(signal);
  };

  constructor(state: HealthState, options: Resolved) {
    this.#state = state;
    this.#o = options;
    this.#clock = options.clock;
    this.#forced = new Promise<void>((resolve) => {
      this.#onForced = resolve;
    });
    this.#tracker.onDrained = () => this.#wake?.();
    for (const signal of options.signals) process.on(signal, this.#onSignal);
    this.#listening = options.signals.length > 0;
  }

  get phase(): ShutdownPhase {
    return this.#phase;
  }

  get report(): ShutdownReport | undefined {
    return this.#report;
  }

  get inFlight(): number {
    return this.#tracker.activeRequests + this.#work.size;
  }

  attach(server: AttachableServer): Disposer {
    const given: unknown = server;
    if (!(given instanceof HttpServer) && !(given instanceof HttpsServer)) {
      throw new TypeError(
        `Shutdown.attach: server must be an http.Server or https.Server, got ${describe(server)}`,
      );
    }
    return this.#tracker.attach(server);
  }

  onShutdown(name: string, hook: ShutdownHook, options?: ShutdownHookOptions): Disposer {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(
        `Shutdown.onShutdown: name must be a non-empty string, got ${describe(name)}`,
      );
    }
    if (typeof hook !== 'function') {
      throw new TypeError(`Shutdown.onShutdown: hook must be a function, got ${describe(hook)}`);
    }
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError(
        `Shutdown.onShutdown: options must be an object, got ${describe(options)}`,
      );
    }
    const timeoutMs = msOption(
      'Shutdown.onShutdown',
      'timeoutMs',
      options?.timeoutMs,
      this.#o.hookTimeoutMs,
    );
    const entry: Hook = { name, hook, timeoutMs };
    this.#hooks.push(entry);
    return () => {
      const i = this.#hooks.indexOf(entry);
      if (i >= 0) this.#hooks.splice(i, 1);
    };
  }

  track<T>(work: Promise<T>, name = 'work'): Promise<T> {
    if (work === null || typeof (work as { then?: unknown } | undefined)?.then !== 'function') {
      throw new TypeError(`Shutdown.track: work must be a promise, got ${describe(work)}`);
    }
    const done = this.begin(name);
    // Both branches settle the tracking; the caller still sees the rejection on `work`.
    work.then(done, done);
    return work;
  }

  begin(name = 'work'): () => void {
    if (typeof name !== 'string') {
      throw new TypeError(`Shutdown.begin: name must be a string, got ${describe(name)}`);
    }
    const id = ++this.#workSeq;
    this.#work.set(id, name);
    return () => {
      if (this.#work.delete(id)) this.#wake?.();
    };
  }

  shutdown(reason = 'shutdown()'): Promise<number> {
    if (this.#promise) return this.#promise;
    if (typeof reason !== 'string') {
      throw new TypeError(`Shutdown.shutdown: reason must be a string, got ${describe(reason)}`);
    }
    // Before anything else, so the very next readiness probe fails.
    this.#state.shuttingDown = true;
    this.#reason = reason;
    this.#startedAt = this.#clock.now();
    this.#promise = new Promise<number>((resolve) => {
      this.#resolve = resolve;
    });
    this.#run().then(
      (code) => this.#finish(code),
      (err: unknown) => {
        // A fault in the sequence itself must still end the shutdown, with a failing code.
        process.emitWarning(
          err instanceof Error ? err : new Error(String(err)),
          'NinesShutdownWarning',
        );
        this.#finish(EXIT_FAILED);
      },
    );
    return this.#promise;
  }

  dispose(): void {
    this.#removeSignalListeners();
    this.#tracker.detachAll();
  }

  async #run(): Promise<number> {
    this.#setPhase('draining');
    await this.#race(this.#sleep(this.#o.drainDelayMs));
    if (this.#forcedBy) return -1;

    this.#tracker.close();
    this.#setPhase('closing');
    const inTime = await this.#race(this.#waitForInFlight());
    if (this.#forcedBy) return -1;
    let code = EXIT_CLEAN;
    if (!inTime) {
      const cutOff: ShutdownCutOff = {
        requests: this.#tracker.activeRequests,
        work: [...this.#work.values()],
      };
      this.#cutOff = cutOff;
      code = EXIT_FAILED;
      if (this.#cutOffEvents.active) this.#cutOffEvents.emit(cutOff);
      else {
        process.emitWarning(
          `shutdown cut off ${cutOff.requests} request(s) and ${cutOff.work.length} unit(s) of work after ${this.#o.requestTimeoutMs} ms`,
          'NinesShutdownWarning',
        );
      }
    }
    // Whatever is left holds no request any more (or was cut off just now).
    this.#tracker.destroyAll();

    this.#setPhase('hooks');
    for (const hook of [...this.#hooks].reverse()) {
      const result = await this.#race(this.#runHook(hook));
      if (this.#forcedBy || result === undefined) return -1;
      if (result.outcome !== 'ok') code = EXIT_FAILED;
    }
    return code;
  }

  /** Resolves `true` when no request or work is left, `false` at the deadline. */
  #waitForInFlight(): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = this.#setTimer(() => {
        this.#wake = undefined;
        resolve(false);
      }, this.#o.requestTimeoutMs);
      this.#wake = () => {
        if (this.inFlight > 0) return;
        this.#wake = undefined;
        this.#clearTimer(timer);
        resolve(true);
      };
    });
  }

  async #runHook(h: Hook): Promise<ShutdownHookResult> {
    const controller = new AbortController();
    const started = this.#clock.now();
    this.#current = { hook: h, controller, started };
    let timer: unknown;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.#setTimer(() => resolve('timeout'), h.timeoutMs);
    });
    let outcome: ShutdownHookResult['outcome'];
    let error: unknown;
    try {
      const info: ShutdownHookInfo = {
        name: h.name,
        reason: this.#reason,
        signal: controller.signal,
        timeoutMs: h.timeoutMs,
      };
      // Promise.race also handles a late rejection of a hook that already timed out.
      outcome = await Promise.race([
        Promise.resolve(h.hook(info)).then(() => 'ok' as const),
        timedOut,
      ]);
    } catch (err) {
      outcome = 'error';
      error = err;
    } finally {
      this.#clearTimer(timer);
      this.#current = undefined;
    }
    // A forced exit already reported this hook as aborted.
    if (this.#forcedBy) return { name: h.name, outcome: 'aborted', durationMs: 0 };
    if (outcome === 'timeout') controller.abort(new TimeoutError(h.timeoutMs));
    const result: ShutdownHookResult = {
      name: h.name,
      outcome,
      durationMs: this.#clock.now() - started,
      ...(outcome === 'error' ? { error } : {}),
    };
    this.#recordHook(result);
    return result;
  }

  #recordHook(result: ShutdownHookResult): void {
    this.#hookResults.push(result);
    if (this.#hookEvents.active) this.#hookEvents.emit(result);
    else if (result.outcome !== 'ok') {
      const why =
        result.outcome === 'error'
          ? `failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`
          : result.outcome === 'timeout'
            ? `timed out after ${result.durationMs} ms`
            : 'was aborted';
      process.emitWarning(`shutdown hook "${result.name}" ${why}`, 'NinesShutdownWarning');
    }
  }

  /** A second signal: stop waiting, cut everything off and exit with 128 + the signal number. */
  #force(signal: NodeJS.Signals): void {
    if (this.#phase === 'done' || this.#forcedBy) return;
    this.#forcedBy = signal;
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    this.#wake = undefined;
    const current = this.#current;
    if (current) {
      this.#current = undefined;
      current.controller.abort(new ShutdownForcedError(signal));
      this.#recordHook({
        name: current.hook.name,
        outcome: 'aborted',
        durationMs: this.#clock.now() - current.started,
      });
    }
    this.#tracker.close();
    this.#tracker.destroyAll();
    this.#onForced();
    this.#finish(signalExitCode(signal));
  }

  #finish(code: number): void {
    if (this.#phase === 'done') return;
    this.#removeSignalListeners();
    this.#report = {
      reason: this.#reason,
      code,
      ...(this.#forcedBy ? { forcedBy: this.#forcedBy } : {}),
      ...(this.#cutOff ? { cutOff: this.#cutOff } : {}),
      hooks: [...this.#hookResults],
      durationMs: this.#clock.now() - this.#startedAt,
    };
    this.#setPhase('done');
    this.#resolve?.(code);
    if (this.#o.exit) process.exit(code);
  }

  #removeSignalListeners(): void {
    // Once done (or disposed) a later signal must get Node's default behaviour back: a listener
    // left behind would make the process ignore SIGTERM.
    if (!this.#listening) return;
    this.#listening = false;
    for (const signal of this.#o.signals) process.off(signal, this.#onSignal);
  }

  #setPhase(phase: ShutdownPhase): void {
    this.#phase = phase;
    if (this.#phaseEvents.active) {
      this.#phaseEvents.emit({ phase, reason: this.#reason, at: this.#clock.now() });
    }
  }

  #race<T>(p: Promise<T>): Promise<T | undefined> {
    return Promise.race([p, this.#forced.then(() => undefined)]);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#setTimer(resolve, ms);
    });
  }

  #setTimer(callback: () => void, ms: number): unknown {
    const handle: unknown = this.#clock.setTimeout(() => {
      this.#timers.delete(handle);
      callback();
    }, ms);
    this.#timers.add(handle);
    return handle;
  }

  #clearTimer(handle: unknown): void {
    if (handle === undefined || !this.#timers.delete(handle)) return;
    this.#clock.clearTimeout(handle);
  }
}

/**
 * Graceful shutdown on a signal (default SIGTERM and SIGINT), the Kubernetes way.
 *
 * Sequence, on the first signal or `shutdown()`:
 * 1. `state.shuttingDown = true` at once: readiness answers 503, liveness still 200 (a failing
 *    liveness probe would get the pod restarted mid-shutdown).
 * 2. Drain delay (`drainDelayMs`): the servers keep serving new and kept-alive requests while
 *    load balancers notice the failing readiness and stop sending traffic.
 * 3. Stop accepting (`server.close()` on every attached server); idle keep-alive connections and
 *    connections that never sent a request are closed at once; a connection with a request in
 *    flight answers with `Connection: close` and closes after its response.
 * 4. Wait for in-flight requests and tracked work (`begin()` / `track()`) up to
 *    `requestTimeoutMs`; whatever is still running then is cut off (its connection destroyed).
 * 5. Cleanup hooks, last registered first, each within its own timeout.
 * 6. Exit with the code below (`process.exit`, unless `exit: false`).
 *
 * | exit code | when |
 * |---|---|
 * | 0 | everything finished in time and every hook succeeded |
 * | 1 | a request or tracked work was cut off at `requestTimeoutMs`, or a hook threw, rejected or timed out |
 * | 128 + n | a second signal arrived during the shutdown and forced the exit at once: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP |
 *
 * A clean shutdown exits 0 even when a signal started it, so orchestrators and `docker stop` see
 * a normal stop; a forced one reports the signal as a shell would.
 *
 * The signal listeners are added here, at creation (pass `signals: []` to add none and call
 * `shutdown()` yourself). They never keep the process alive, and they are removed by `dispose()`
 * and as soon as a shutdown finishes, so a later signal gets Node's default behaviour back. The
 * shutdown's own timers run only while a step waits and are cleared as soon as it ends; they are
 * not unref'd, because an early natural exit would skip the hooks and hide a failure.
 *
 * @example
 * const shutdown = createShutdown(state, { drainDelayMs: 5_000 });
 * shutdown.attach(server);
 * shutdown.onShutdown('db', () => pool.end());
 * shutdown.onShutdown('telemetry', () => sdk.shutdown()); // runs first
 */
export function createShutdown(state: HealthState, options?: ShutdownOptions): Shutdown {
  if (
    state === null ||
    typeof state !== 'object' ||
    typeof (state as { shuttingDown?: unknown }).shuttingDown !== 'boolean'
  ) {
    throw new TypeError(`${OWNER}: state must be a HealthState, got ${describe(state)}`);
  }
  return new GracefulShutdown(state, resolveOptions(options));
}
