/** Test helpers: a hand-made write/read context, DuckDB as the independent Parquet reader and writer. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Diagnostic, FormatContext, LlavaRecord, ReadResult, SourceRecord, WriteContext } from '@llavakit/format';
import { type ParquetOptions, parquetOptionsSchema } from '../options.js';
import { readParquet } from '../read.js';
import { writeParquet } from '../write.js';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'llava-parquet-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function options(raw: Partial<ParquetOptions> = {}): ParquetOptions {
  return parquetOptionsSchema.parse(raw);
}

/** What a hand-made context saw. */
export interface Seen {
  accepted: SourceRecord[];
  rejected: { source: SourceRecord; diagnostics: readonly Diagnostic[] }[];
  reports: Diagnostic[];
  counts: Record<string, number>;
}

/** Write records with `writeParquet`, images answered from `images` (path → bytes). */
export async function write(
  records: readonly LlavaRecord[] | AsyncIterable<SourceRecord>,
  output: string,
  raw: Partial<ParquetOptions> = {},
  images: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<Seen> {
  const seen: Seen = { accepted: [], rejected: [], reports: [], counts: {} };
  const context: WriteContext<ParquetOptions> = {
    options: options(raw),
    file: output,
    output: { path: output },
    report: (d) => seen.reports.push(d),
    count: (event, by = 1) => {
      seen.counts[event] = (seen.counts[event] ?? 0) + by;
    },
    images: { rewrite: (p) => p, readBytes: async (p) => images.get(p) },
    accept: (s) => seen.accepted.push(s),
    reject: (source, diagnostics) => seen.rejected.push({ source, diagnostics }),
  };
  const source = Array.isArray(records)
    ? (async function* () {
        for (const [index, record] of (records as LlavaRecord[]).entries()) yield { record, index, file: 'in.json' };
      })()
    : (records as AsyncIterable<SourceRecord>);
  await writeParquet(source, context);
  return seen;
}

/** Read every result of `readParquet`. */
export async function read(input: string): Promise<ReadResult[]> {
  const context: FormatContext<ParquetOptions> = {
    options: options(),
    file: input,
    report: () => {},
    count: () => {},
    images: { rewrite: (p) => p, readBytes: async () => undefined },
  };
  const out: ReadResult[] = [];
  for await (const result of readParquet(input, context)) out.push(result);
  return out;
}

/** Run SQL in an in-memory DuckDB and return the rows as JSON-friendly objects. */
export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** SQL string literal. */
export const lit = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A BLOB literal from bytes. */
export const blob = (bytes: Uint8Array) => `from_base64('${Buffer.from(bytes).toString('base64')}')`;

export const b64 = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('base64') : undefined);
