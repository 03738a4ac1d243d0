export { type JoinedItem, type JoinOptions, joinMetadata } from './join.js';
export { type DatasetKind, detectKind, validationKindOf } from './kind.js';
export { type JsonErrorSpot, locateJsonError } from './locate.js';
export { detectContainer, readRecordBatches, readRecords, readValues } from './read.js';
export { type ReaderRuleName, readerRules } from './rules.js';
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_RECORD_BYTES,
  type ElementReader,
  parseElement,
  type RawElement,
  type RawSink,
  RecordScanner,
  type ScannerOptions,
} from './scanner.js';
export { checkInputPath, type OpenedSource, openSource, openStreamPath } from './source.js';
export type { Container, InputSource, ReadItem, ReadOptions, RecordPlace } from './types.js';
