import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineFormat } from '@llavakit/format';
import { parquetOptionsSchema } from './options.js';
import { readParquet } from './read.js';
import { writeParquet } from './write.js';

/** How likely a probed input is Parquet: the `PAR1` magic, a `.parquet` name or glob, or a folder holding some. */
function detectParquet(probe: { readonly path?: string; readonly head: string }): number {
  if (probe.head.startsWith('PAR1')) return 1;
  const path = probe.path ?? '';
  if (/\.parquet$/i.test(path)) return 0.9;
  if (probe.head === '' && path && path !== '-') {
    try {
      if (!statSync(path).isDirectory()) return 0;
      const holds = (dir: string) => readdirSync(dir).some((name) => /\.parquet$/i.test(name));
      if (holds(path) || holds(join(path, 'data'))) return 0.8;
    } catch {
      // not there, or not a Hub folder: not Parquet
    }
  }
  return 0;
}

/**
 * The Hugging Face Parquet format: reads the Hub's LLaVA sets (embedded `Image` bytes, `image` or `images`, string
 * or integer ids) one row group at a time, and writes the Hub layout (`data/<split>-NNNNN-of-NNNNN.parquet` plus a
 * `README.md` dataset card) or one `.parquet` file, with the images embedded.
 */
export const parquetFormat = defineFormat({
  specVersion: 1,
  name: 'parquet',
  description:
    'Hugging Face Parquet: embedded Image columns, the Hub folder layout and dataset card (reads files, folders, globs)',
  extensions: ['.parquet'],
  limitations: [
    'the output is a folder (data/ shards + README.md) or one .parquet file, not standard output',
    'an image that cannot be read is written with its path only (no bytes); --missing-images drop rejects the record',
  ],
  optionsSchema: parquetOptionsSchema,
  detect: detectParquet,
  read: readParquet,
  write: writeParquet,
});

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
