/** Span records, the terminal trace waterfall and the OTLP/HTTP JSON trace receiver. */
export { type OtlpDecodeResult, OtlpFormatError, spanRecordsFromOtlpJson } from './otlp-json.js';
export {
  createOtlpReceiver,
  type OtlpReceiver,
  type OtlpReceiverOptions,
  type SpansListener,
  type TraceSummary,
} from './otlp-receiver.js';
export {
  type AttributeValue,
  type SpanEventRecord,
  type SpanKindName,
  type SpanRecord,
  type SpanStatusName,
  spanRecordFromReadable,
} from './span-record.js';
export {
  formatDuration,
  renderWaterfall,
  TraceViewError,
  type WaterfallOptions,
} from './waterfall.js';
