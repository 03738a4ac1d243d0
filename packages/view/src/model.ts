import type { Diagnostic, Severity } from '@llavakit/diagnostics';
import type { ImageResolver, ImageSource } from '@llavakit/images';
import type { ValidationKind } from '@llavakit/schema';
import type { RecordDecoder } from './decode.js';
import type { RecordMetrics } from './metrics.js';

/** Progress of {@link DatasetIndex.build}. */
export interface IndexProgress {
  /** Bytes read so far over every input, and the total. */
  readonly bytes: number;
  readonly totalBytes: number;
  /** Records indexed so far. */
  readonly records: number;
  /** `index` while reading the inputs, `images` while the image audit finishes. */
  readonly phase: 'index' | 'images';
}

/** Options of {@link DatasetIndex.build}. */
export interface IndexOptions {
  readonly metrics: RecordMetrics;
  /** With image sources, the image audit of `@llavakit/images` runs over every reference. */
  readonly resolver?: ImageResolver | undefined;
  /**
   * The sources `resolver` was made from (`createImageResolver(imageSources)`). With them, or without a resolver, and
   * with metrics that summarize as the default ones do (no `decode`), the index is built in a worker thread of its
   * own with a bounded heap, and only the finished columns come back (see `build-thread.ts`); otherwise, or when that
   * thread fails, in this thread.
   */
  readonly imageSources?: readonly ImageSource[];
  /** Build in a worker thread when it can (default `true`; see {@link IndexOptions.imageSources}). */
  readonly worker?: boolean;
  /** The validation kind of every file (default: detected per file from its first records, as `llava validate` does). */
  readonly kind?: ValidationKind;
  readonly onProgress?: (progress: IndexProgress) => void;
  readonly signal?: AbortSignal;
  /** Diagnostics that cannot be recomputed from the record alone (broken JSON, rows that are not records) kept, at most. */
  readonly maxKeptDiagnostics?: number;
  /**
   * A record-level format's `decode` for the JSON/JSONL inputs (e.g. a plugin's): every parsed value is decoded into
   * a canonical record when indexed and again when read. A decode that throws or answers something else is caught
   * and shown as the record's diagnostic (`view/decode-failed`).
   */
  readonly decode?: RecordDecoder;
  /**
   * Parquet row groups larger than this (uncompressed, as the footer says) are read in slices of pages when their
   * large column chunks have several pages (default 64 MiB: `SLICE_GROUP_BYTES` of `@llavakit/format-parquet`).
   */
  readonly parquetSliceBytes?: number;
}

/** One input file of the dataset. */
export interface DatasetFile {
  /** The path as given. */
  readonly path: string;
  /** Its base name (shown in the page). */
  readonly name: string;
  readonly size: number;
  /** First global record number of the file, and its record count. */
  readonly first: number;
  readonly records: number;
  /** The validation kind its records were checked with. */
  readonly kind: ValidationKind;
  /**
   * `json` (a JSON array or JSONL: records by byte offset) or `parquet` (records by row group and row, each shown as
   * its canonical LLaVA record, images embedded).
   */
  readonly format: 'json' | 'parquet';
  /** Parquet: the number of the file's first row in its input (a folder's files count on). */
  readonly inputIndex?: number;
}

/** A rule seen while indexing, with the number of records that have it. */
export interface RuleCount {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly records: number;
  readonly hint?: string;
}

/** Records per rule id, with the rule's severity and hint. */
export type RuleRecords = Map<string, { severity: Severity; records: number; hint?: string }>;

/** What an index build makes: the typed columns and the tables beside them (see `DatasetIndex`). */
export interface IndexParts {
  readonly count: number;
  readonly imagesChecked: boolean;
  readonly decode: RecordDecoder | undefined;
  readonly parquetSliceBytes: number | undefined;
  readonly fileOf: Uint16Array;
  readonly offsets: Float64Array;
  readonly lengths: Uint32Array;
  readonly localIndex: Uint32Array;
  readonly sourceCode: Uint16Array;
  readonly turns: Uint16Array;
  readonly images: Uint8Array;
  readonly ruleMask: Uint32Array;
  readonly worst: Uint8Array;
  readonly duplicateOf: Uint32Array;
  readonly sources: readonly string[];
  readonly rules: readonly string[];
  readonly files: readonly DatasetFile[];
  readonly fileDiagnostics: readonly Diagnostic[];
  readonly kept: ReadonlyMap<number, Diagnostic[]>;
  readonly ruleRecords: RuleRecords;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };
/** Bit 31 of the rule mask means "a rule beyond the first 31". */
export const OTHER_BIT = 31;
/** The token column's value for a record not counted yet. */
export const NO_TOKENS = 0xffffffff;

export function clamp32(n: number): number {
  return Math.min(n, NO_TOKENS - 1);
}

/** A growable typed column. */
export class Column<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array> {
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const next = this.make(Math.max(1024, i + 1, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
  /**
   * Make room for `n` values at once (a Parquet file's footer gives its row count): exactly `n` when nothing was set
   * past it, so {@link Column.take} hands the array over without a copy and no doubled array is ever made.
   */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const next = this.make(n);
    next.set(this.data);
    this.data = next;
  }
  /** The first `n` values, in an array of exactly that length (zeros past what was set). */
  take(n: number): T {
    if (this.data.length === n) return this.data;
    if (this.data.length > n) return this.data.slice(0, n) as T;
    const out = this.make(n);
    out.set(this.data);
    return out;
  }
}
