import { closeSync, openSync, readSync } from 'node:fs';
import type { AsyncBuffer, RowGroup } from 'hyparquet';

/** Bytes of a file read at once: `bytes` holds the file's bytes from offset `start`. */
export interface FileRange {
  readonly start: number;
  readonly bytes: Uint8Array;
}

/** The column chunks of a row group, each read into a buffer of its own, in file order. */
export interface GroupBytes {
  /** Offset of the first chunk. */
  readonly start: number;
  /** Bytes from the first chunk's start to the last one's end. */
  readonly length: number;
  readonly chunks: readonly FileRange[];
  /** Whether the chunks lie back to back (nothing between them). */
  readonly contiguous: boolean;
}

/**
 * Where a column chunk's pages start: its dictionary page, else its first data page (as hyparquet plans its reads:
 * an offset of 0 means no dictionary, as some writers leave it).
 */
export function chunkStart(meta: { dictionary_page_offset?: bigint; data_page_offset: bigint }): number {
  return Number(meta.dictionary_page_offset || meta.data_page_offset);
}

/**
 * Read a row group's column chunks, each into a buffer of its own (hyparquet is handed those buffers as they are,
 * with no copy), with one open. `whole`: chunks that lie back to back are read at once into one buffer, each chunk
 * a view of it (for a row group read from its pages, where no hyparquet needs buffers of their own). `openFd`: a
 * descriptor of the file to read with (left open), instead of one open per call.
 */
export function readGroupBytes(file: string, group: RowGroup, whole = false, openFd?: number): GroupBytes {
  const spans: { start: number; end: number }[] = [];
  for (const column of group.columns) {
    if (!column.meta_data) continue;
    const start = chunkStart(column.meta_data);
    spans.push({ start, end: start + Number(column.meta_data.total_compressed_size) });
  }
  spans.sort((a, b) => a.start - b.start);
  const first = spans[0]?.start ?? 0;
  const last = spans.reduce((end, span) => Math.max(end, span.end), first);
  const contiguous = spans.every((span, i) => i === 0 || span.start === spans[i - 1]!.end);
  // (a descriptor the caller holds open for the file is used, and left open)
  const fd = openFd ?? openSync(file, 'r');
  try {
    if (whole && contiguous && spans.length > 0) {
      const all = readAt(fd, first, last);
      const chunks = spans.map(({ start, end }) => ({ start, bytes: all.subarray(start - first, end - first) }));
      return { start: first, length: last - first, chunks, contiguous };
    }
    const chunks = spans.map(({ start, end }) => ({ start, bytes: readAt(fd, start, end) }));
    return { start: first, length: last - first, chunks, contiguous };
  } finally {
    if (openFd === undefined) closeSync(fd);
  }
}

function readAt(fd: number, start: number, end: number): Uint8Array {
  const bytes = Buffer.allocUnsafeSlow(end - start);
  let at = 0;
  while (at < bytes.length) {
    const read = readSync(fd, bytes, at, bytes.length - at, start + at);
    if (read === 0) throw new Error(`unexpected end of file at byte ${start + at}`);
    at += read;
  }
  return bytes;
}

/** Read the bytes `[start, end)` of a file (synchronous: one open, positional reads). */
export function readRange(file: string, start: number, end: number): FileRange {
  const fd = openSync(file, 'r');
  try {
    return { start, bytes: readAt(fd, start, end) };
  } finally {
    closeSync(fd);
  }
}

/**
 * An `AsyncBuffer` of a file for hyparquet: a slice that is one of `group`'s chunks is that chunk's own buffer (no
 * copy), a slice inside one is copied from it, others are read from the file.
 */
export function fileBuffer(file: string, byteLength: number, group?: GroupBytes): AsyncBuffer {
  return {
    byteLength,
    slice(start: number, end = byteLength): ArrayBuffer {
      for (const chunk of group?.chunks ?? []) {
        const { bytes } = chunk;
        if (start === chunk.start && end === chunk.start + bytes.length && bytes.byteOffset === 0) {
          if (bytes.buffer.byteLength === bytes.length) return bytes.buffer as ArrayBuffer;
        }
        if (start >= chunk.start && end <= chunk.start + bytes.length) {
          const from = bytes.byteOffset + start - chunk.start;
          return bytes.buffer.slice(from, from + end - start) as ArrayBuffer;
        }
      }
      return readRange(file, start, end).bytes.buffer as ArrayBuffer;
    },
  };
}
