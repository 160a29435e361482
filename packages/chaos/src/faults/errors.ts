/**
 * The error an in-process fault raises: an `error` fault's code and message, or `ECONNREFUSED` for a
 * `block` fault in `refuse` mode. `fault` is the id of the fault that raised it, so a log line leads
 * back to the audit entry.
 *
 * @example
 * try { await getStock('42'); } catch (e) {
 *   if (e instanceof InjectedFaultError) console.log(e.code, e.fault); // EFAULTINJECTED f-1a2b3c4d
 * }
 */
export class InjectedFaultError extends Error {
  /** The fault's `code` (`'EFAULTINJECTED'` by default, `'ECONNREFUSED'` for refuse). */
  readonly code: string;
  /** Id of the fault that raised this error. */
  readonly fault: string;
  /** The fault's HTTP status, when it has one. */
  readonly status: number | undefined;

  constructor(message: string, code: string, fault: string, status?: number) {
    super(message);
    this.name = 'InjectedFaultError';
    this.code = code;
    this.fault = fault;
    this.status = status;
  }
}
