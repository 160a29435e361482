/**
 * An experiment as data: what the loader produces from a YAML or JSON file and what the runner
 * executes. Durations are milliseconds, shares are fractions in (0, 1].
 */
import type { Slo } from '@nines/slo';

/** Where a part of the experiment was written, for the plan, the journal and error messages. */
export interface Origin {
  readonly file: string;
  readonly line: number;
}

/** A comparison a measured value must pass: `below` (value < n) or `above` (value > n). */
export interface Threshold {
  readonly op: 'below' | 'above';
  readonly value: number;
}

/** What a probe measures. */
export type Measure =
  /** The burn rate of an SLO over `windowMs`, from the request histogram of its service. */
  | {
      readonly kind: 'burn-rate';
      readonly slo: Slo;
      /** The `metrics` entry the SLO's service is scraped from. */
      readonly metrics: string;
      readonly windowMs: number;
      readonly threshold: Threshold;
    }
  /** A latency quantile in seconds (the threshold is in seconds too). */
  | {
      readonly kind: 'latency';
      readonly metrics: string;
      readonly route?: string;
      readonly method?: string;
      readonly quantile: number;
      readonly windowMs: number;
      readonly threshold: Threshold;
    }
  /** The share of 5xx responses. */
  | {
      readonly kind: 'error-ratio';
      readonly metrics: string;
      readonly route?: string;
      readonly method?: string;
      readonly windowMs: number;
      readonly threshold: Threshold;
    }
  /** An HTTP call whose status must be one of `status`. */
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly method: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly status: readonly number[];
      readonly timeoutMs: number;
    }
  /** A command that must exit with `exit`. */
  | {
      readonly kind: 'command';
      readonly run: readonly string[];
      readonly exit: number;
      readonly timeoutMs: number;
    };

/** A named check: a steady-state probe, or an abort condition. */
export interface Probe {
  readonly name: string;
  readonly measure: Measure;
  /** Keep trying until the probe passes or this much time has passed (0: one try). */
  readonly withinMs: number;
  readonly origin: Origin;
}

/** A change the method makes, undone by the rollbacks. */
export type Action =
  | {
      readonly kind: 'add-latency';
      readonly via: Via;
      readonly latencyMs: number;
      readonly jitterMs: number;
      /** Share of requests (in-process) or connections (proxy); the blast radius when absent. */
      readonly share?: number;
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'block';
      readonly via: Via;
      readonly mode: 'hang' | 'refuse';
      readonly share?: number;
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'inject-error';
      readonly via: FaultsVia;
      readonly status?: number;
      readonly message?: string;
      readonly share?: number;
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'skew-clock';
      readonly via: FaultsVia;
      readonly offsetMs: number;
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'kill';
      readonly instances: string;
      readonly signal: NodeJS.Signals;
      /** Share of the group's instances; one instance when absent and no blast radius is set. */
      readonly share?: number;
    }
  | {
      readonly kind: 'fill-disk';
      /** Absolute (resolved against the experiment file's folder). */
      readonly directory: string;
      readonly capacityBytes: number;
      readonly percent: number;
      readonly durationMs?: number;
    }
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly method: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly body?: string;
      readonly status?: readonly number[];
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'command';
      readonly run: readonly string[];
      readonly exit?: number;
      readonly timeoutMs: number;
    }
  /** Ends the change an earlier step made (by its name) before the rollbacks would. */
  | { readonly kind: 'undo'; readonly step: string };

/** Where a network fault goes: a proxy of the fault proxy, or a target of a service's faults. */
export type Via = { readonly proxy: string } | FaultsVia;

/** A target of the in-process faults of one service (an entry of `faults`). */
export interface FaultsVia {
  readonly faults: string;
  readonly target: string;
}

/** One step of the method or of the rollbacks. */
export type Step =
  | { readonly type: 'pause'; readonly name: string; readonly ms: number; readonly origin: Origin }
  | {
      readonly type: 'action';
      readonly name: string;
      readonly action: Action;
      readonly origin: Origin;
    };

/** The in-process fault endpoint of one service. */
export interface FaultsEndpoint {
  readonly url: string;
  readonly token: string;
}

/** A group of instances (real processes) found through pid files. */
export interface InstanceGroup {
  readonly pidFiles?: readonly string[];
  readonly pidDir?: string;
}

/** The steady-state hypothesis. */
export interface Hypothesis {
  readonly title: string;
  readonly probes: readonly Probe[];
  /** Period of the checks while the method runs. */
  readonly everyMs: number;
  /** Stop the method at the first deviation while it runs. */
  readonly failFast: boolean;
}

/** A loaded, checked experiment. */
export interface Experiment {
  readonly title: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly file: string;
  readonly slos: readonly Slo[];
  /** Metrics endpoints by name (several URLs: instances of one service, summed). */
  readonly metrics: Readonly<Record<string, readonly string[]>>;
  /** The fault proxy's admin API (Toxiproxy 2.x compatible). */
  readonly proxy: string;
  readonly faults: Readonly<Record<string, FaultsEndpoint>>;
  readonly instances: Readonly<Record<string, InstanceGroup>>;
  readonly hypothesis?: Hypothesis;
  /** Scraping and waiting before the first check, so windows hold data. */
  readonly warmupMs: number;
  readonly abort: { readonly everyMs: number; readonly conditions: readonly Probe[] };
  readonly blastRadius: {
    readonly requests?: number;
    readonly instances?: number;
    /** Growing shares: the method runs once per stage, stopping at the first deviation. */
    readonly stages: readonly number[];
  };
  /** Time to live given to in-process faults that have no duration (they die by themselves). */
  readonly faultTtlMs: number;
  readonly method: readonly Step[];
  readonly rollbacks: readonly Step[];
}
