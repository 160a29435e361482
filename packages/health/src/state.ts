/**
 * The lifecycle facts that probes and shutdown share: has the service finished starting, and has
 * a shutdown begun. Probes read it; startup code and the shutdown sequence write it.
 *
 * @internal
 */
export class HealthState {
  /** Set by `Health.started()`: startup finished, liveness and readiness may pass. */
  started = false;
  /** Set at the start of a graceful shutdown: readiness fails from then on, liveness does not. */
  shuttingDown = false;
}
