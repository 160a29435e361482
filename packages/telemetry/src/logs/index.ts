/**
 * Correlated JSON logs on pino: trace and correlation ids from the OpenTelemetry context,
 * redaction on by default, one access line per request, and no lines lost on exit or crash.
 */
export { type AccessLine, type AccessLogLevel, accessLogLevel, logAccess } from './access.js';
export {
  type CorrelationFields,
  correlationMixin,
  mergeCorrelation,
} from './correlation.js';
export {
  type FatalErrorOptions,
  type FatalEvent,
  type FatalEventSource,
  handleFatalErrors,
} from './fatal.js';
export { type FlushOptions, flushLogger } from './flush.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type DestinationStream,
  type Logger,
  type LoggerStats,
  type LogLevel,
  loggerStats,
  type PinoPassThrough,
} from './logger.js';
export { DEFAULT_REDACT_PATHS, type RedactOptions, SECRET_FIELDS } from './redact.js';
