import type { Diagnostic } from '@llavakit/diagnostics';

/** Where one element (record) of a data file is. */
export interface RecordPlace {
  /** 0-based index of the element in its file (counting broken elements too). */
  index: number;
  /** Byte offset of the element's first byte in the file (`-1` when the engine cannot tell). */
  offset: number;
  /** 1-based line of the element's first byte (`0` when unknown). */
  line: number;
  /** 1-based column of the element's first byte, in UTF-16 code units as editors count them (`0` when unknown). */
  column: number;
  /** Byte length of the element's JSON text (`-1` when unknown). */
  length: number;
}

/**
 * One element read from a file: either its parsed value, or — when its own JSON is broken but the file around it is
 * still readable (a trailing comma inside a record, a bad escape) — a `json/syntax` diagnostic. `text` is the raw
 * JSON text of the element either way.
 */
export type ReadItem =
  | { ok: true; value: unknown; place: RecordPlace; text: string }
  | { ok: false; diagnostic: Diagnostic; place: RecordPlace; text: string };

/** What to read: a path (`'-'` for standard input), a Node readable stream, or any async iterable of bytes. */
export type InputSource = string | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

/** The container format of a data file. */
export type Container = 'json' | 'jsonl';

/** Options of `readRecords`. */
export interface ReadOptions {
  /** `'json'`: one top-level array; `'jsonl'`: one value per line; `'auto'` (default): decided from the first bytes. */
  container?: 'auto' | 'json' | 'jsonl';
  /** The name used for the file in diagnostics (default: the path given, `-` for stdin). */
  file?: string;
  /** `'fast'` (default): the reader's own byte scanner; `'stream-json'`: stream-json 3, for cross-checking. */
  engine?: 'fast' | 'stream-json';
  /** Stop reading when aborted (the iteration throws the signal's reason). */
  signal?: AbortSignal;
  /** Called after each chunk with the bytes read so far and, for files, the total size. */
  onProgress?: (bytesRead: number, totalBytes?: number) => void;
  /** Largest single element accepted, in bytes (default 512 MiB, about V8's longest string). */
  maxRecordBytes?: number;
  /** Deepest nesting accepted (default 1000, like Python's json module that LLaVA uses). */
  maxDepth?: number;
  /** Read size for files, in bytes (default 1 MiB). */
  chunkSize?: number;
}
