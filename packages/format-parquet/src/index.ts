import { parquetFormat } from './format.js';

export { parquetFormat };
export default parquetFormat;
export { datasetCard } from './card.js';
export { parquetFilesOf } from './files.js';
export {
  decideLayout,
  EXTRA_COLUMN,
  type ExtraColumn,
  type ExtraKind,
  featuresOf,
  type ImageLayout,
  type Layout,
  LLAVAKIT_METADATA_KEY,
} from './layout.js';
export { type ParquetOptions, parquetOptionsSchema, parquetRules } from './options.js';
export { openParquetFile, type ParquetFile, readParquet } from './read.js';
export { jsonSafe, rowText as parquetRowText, rowToRecord } from './record.js';
export { parquetSchema } from './schema.js';
export { writeParquet } from './write.js';
