import { open, stat } from 'node:fs/promises';
import type { LlavaRecord } from '@llavakit/format';
import { openParquetFile, type ParquetFile, parquetFilesOf, parquetRowText } from '@llavakit/format-parquet';

/** One record of a Parquet file as the viewer reads it: the canonical record's JSON text and its embedded images. */
export interface ParquetRecord {
  /** `JSON.stringify` of the canonical record, or the row's short JSON (bytes as sizes) when it is not a record. */
  readonly text: string;
  readonly record?: LlavaRecord;
  /** Why the row is not a LLaVA record. */
  readonly invalid?: { readonly message: string; readonly pointer?: string; readonly hint?: string };
  /** Embedded image bytes keyed by the paths the record names. */
  readonly embedded?: ReadonlyMap<string, Uint8Array>;
}

/**
 * True when an input is read as Parquet: a folder holding `.parquet` files (a Hub clone, `data/*.parquet`) or a file
 * starting with `PAR1`. Anything else is read as JSON (and a folder without Parquet gets `input/is-directory`).
 */
export async function isParquetInput(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  if (info.isDirectory()) {
    return parquetFilesOf(path).then(
      () => true,
      () => false,
    );
  }
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    return head.toString('latin1') === 'PAR1';
  } finally {
    await handle.close();
  }
}

/** The Parquet files of an input (the file, or every `.parquet` under a folder, sorted). */
export const parquetFiles = parquetFilesOf;

/** Convert one raw row (as hyparquet gives it) to what the viewer shows. */
export function parquetRecordOf(parquet: ParquetFile, row: Record<string, unknown>, index: number): ParquetRecord {
  const converted = parquet.toRecord(row, index);
  if (!converted.ok) return { text: parquetRowText(row), invalid: converted.diagnostic };
  return {
    text: JSON.stringify(converted.record),
    record: converted.record,
    ...(converted.embedded ? { embedded: converted.embedded } : {}),
  };
}

/**
 * Random access to the records of Parquet files by (file, row group, row), keeping at most one row group's rows in
 * memory (the last one read: a page of the table is usually one row group).
 */
export class ParquetRecords {
  private cache: { file: number; group: number; rows: Promise<Record<string, unknown>[]> } | undefined;
  private readonly opened = new Map<number, Promise<ParquetFile>>();

  constructor(private readonly pathOf: (file: number) => string) {}

  /** The opened file (footer read once). */
  file(file: number): Promise<ParquetFile> {
    let p = this.opened.get(file);
    if (!p) {
      p = openParquetFile(this.pathOf(file));
      this.opened.set(file, p);
      p.catch(() => this.opened.delete(file));
    }
    return p;
  }

  /** The record at row `row` of row group `group`; `index` is its number in its input (names id-less images). */
  async read(file: number, group: number, row: number, index: number): Promise<ParquetRecord> {
    const parquet = await this.file(file);
    if (!this.cache || this.cache.file !== file || this.cache.group !== group) {
      const rows = parquet.readGroup(group);
      this.cache = { file, group, rows };
      rows.catch(() => {
        if (this.cache?.rows === rows) this.cache = undefined;
      });
    }
    const raw = (await this.cache.rows)[row];
    if (raw === undefined) throw new Error(`${parquet.file} changed since it was indexed`);
    return parquetRecordOf(parquet, raw, index);
  }

  /** Forget the cached row group and the opened files. */
  clear(): void {
    this.cache = undefined;
    this.opened.clear();
  }
}
