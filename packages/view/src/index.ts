export {
  type DatasetFile,
  DatasetIndex,
  DECODE_FAILED,
  decodeSafely,
  type IndexOptions,
  type IndexProgress,
  type RecordDecoder,
  type RuleCount,
} from './dataset.js';
export { createDefaultMetrics, type RecordMetrics, type RecordSummary, sourceOf } from './metrics.js';
export {
  type Bucket,
  computeStats,
  type DatasetStats,
  matchRecords,
  parseFilter,
  type RecordFilter,
} from './query.js';
export type { ImageView, RecordRow, RecordView } from './records.js';
export { type SearchResult, searchRecords } from './search.js';
export { startViewer, type Viewer, type ViewerOptions } from './server.js';
export { createLlamaTokenCounter, type TokenCounter } from './tokens.js';
