import { closeSync, openSync, readSync } from 'node:fs';
import type { AsyncBuffer, RowGroup } from 'hyparquet';

/** Bytes of a file read at once: `bytes` holds the file's bytes from offset `start`. */
export interface FileRange {
  readonly start: number;
  readonly bytes: Uint8Array;
}

/** Where a column chunk's pages start: its dictionary page, else its first data page. */
export function chunkStart(meta: { dictionary_page_offset?: bigint; data_page_offset: bigint }): number {
  const data = Number(meta.data_page_offset);
  const dictionary = meta.dictionary_page_offset === undefined ? data : Number(meta.dictionary_page_offset);
  return Math.min(data, dictionary);
}

/** The file offsets `[start, end)` spanning every column chunk of a row group. */
export function groupSpan(group: RowGroup): { start: number; end: number } {
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const column of group.columns) {
    if (!column.meta_data) continue;
    const at = chunkStart(column.meta_data);
    start = Math.min(start, at);
    end = Math.max(end, at + Number(column.meta_data.total_compressed_size));
  }
  return start < end ? { start, end } : { start: 0, end: 0 };
}

/**
 * Read the bytes `[start, end)` of a file: one open and positional reads, synchronous (a row group at a time, from
 * the page cache most often: cheaper than a promise round trip per call). Throws when the file is shorter.
 */
export function readRange(file: string, start: number, end: number): FileRange {
  const fd = openSync(file, 'r');
  try {
    const bytes = Buffer.allocUnsafeSlow(end - start);
    let at = 0;
    while (at < bytes.length) {
      const read = readSync(fd, bytes, at, bytes.length - at, start + at);
      if (read === 0) throw new Error(`unexpected end of file at byte ${start + at}`);
      at += read;
    }
    return { start, bytes };
  } finally {
    closeSync(fd);
  }
}

/**
 * An `AsyncBuffer` of a file for hyparquet: slices inside `range` (a row group read at once) come from memory,
 * others are read from the file. One open per call instead of one read stream per column chunk.
 */
export function fileBuffer(file: string, byteLength: number, range?: FileRange): AsyncBuffer {
  return {
    byteLength,
    slice(start: number, end = byteLength): ArrayBuffer | Promise<ArrayBuffer> {
      if (range && start >= range.start && end <= range.start + range.bytes.length) {
        const from = range.bytes.byteOffset + start - range.start;
        return range.bytes.buffer.slice(from, from + end - start) as ArrayBuffer;
      }
      return readRange(file, start, end).bytes.buffer as ArrayBuffer;
    },
  };
}
