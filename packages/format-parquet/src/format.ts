import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadResult } from '@llavakit/format';
import { defineFormat } from '@llavakit/format';
import { parquetOptionsSchema } from './options.js';

/**
 * The reader and the writer are imported on first use: the format (what the CLI's `llava:formats` hook registers,
 * and imports first in a worker thread to probe it) loads neither hyparquet nor hyparquet-writer, so every `llava`
 * command starts without them (about 0.2 s), and a conversion loads only the side it runs.
 */
let reading: Promise<typeof import('./read.js')> | undefined;
let writing: Promise<typeof import('./write.js')> | undefined;

type ReadParquet = typeof import('./read.js')['readParquet'];
type WriteParquet = typeof import('./write.js')['writeParquet'];

/** {@link ReadParquet}, its module imported when the records are first asked for (no extra step per record). */
function readLazily(...args: Parameters<ReadParquet>): AsyncIterable<ReadResult> {
  return {
    [Symbol.asyncIterator]() {
      let inner: AsyncIterator<ReadResult> | undefined;
      const start = async () => {
        reading ??= import('./read.js');
        inner ??= (await reading).readParquet(...args)[Symbol.asyncIterator]();
        return inner;
      };
      return {
        next: () => (inner ? inner.next() : start().then((it) => it.next())),
        return: async (value?: unknown) =>
          inner?.return ? inner.return(value) : { done: true as const, value: undefined },
      };
    },
  };
}

async function writeLazily(...args: Parameters<WriteParquet>): Promise<void> {
  writing ??= import('./write.js');
  return (await writing).writeParquet(...args);
}

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
  read: readLazily,
  write: writeLazily,
});
