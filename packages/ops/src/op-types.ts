import type { FormatRegistry } from '@llavakit/convert';
import type { Diagnostic } from '@llavakit/diagnostics';
import type { Container, RecordPlace } from '@llavakit/format';
import type { InputSource } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';

/** One record read by an operation: a canonical record with its place, or an input that could not be read. */
export type OpItem =
  | {
      readonly ok: true;
      readonly record: LlavaRecord;
      readonly file: string;
      readonly index: number;
      readonly place?: RecordPlace;
      /** The record's JSON text as read, when the reader has it, and the format it was read with. */
      readonly text?: string;
      readonly format?: string;
    }
  | {
      readonly ok: false;
      readonly file: string;
      readonly index: number;
      readonly diagnostics: readonly Diagnostic[];
      readonly place?: RecordPlace;
      readonly text?: string;
    };

/** Progress of an operation: which pass, the current file, bytes read of it, its size, and records so far. */
export interface OpProgress {
  readonly pass: string;
  readonly file: string;
  readonly bytesRead: number;
  readonly totalBytes?: number;
  readonly records: number;
}

/** Input options shared by every operation. */
export interface InputOptions {
  /** Input paths (`-` for standard input, read once: operations that need two passes refuse it). */
  readonly inputs: readonly string[];
  /** The formats to read with (e.g. `createBuiltinRegistry()` from `@llavakit/convert`). */
  readonly registry: FormatRegistry;
  /** Input format name; detected per input when absent. */
  readonly from?: string;
  /** Raw format options (parsed by each format's schema). */
  readonly formatOptions?: Readonly<Record<string, unknown>>;
  /** Progress callback. */
  readonly onProgress?: (progress: OpProgress) => void;
  /** Aborts the operation; no output is created. */
  readonly signal?: AbortSignal;
  /** Standard input, for `-` (default `process.stdin`). */
  readonly stdin?: InputSource;
  /**
   * Only the records whose 0-based index in their input passes (a shard, see `selectShard` of `@llavakit/convert`);
   * the others are not read here (neither counted, written nor rejected). Default: every record.
   */
  readonly keepRecord?: (index: number) => boolean;
}

/** Output options shared by the operations that write records. */
export interface OutputOptions {
  /** Output path (`-` for standard output). */
  readonly output: string;
  /** Output format (default `llava`: records written as read). */
  readonly to?: string;
  /** JSON array or JSON Lines (default from the output extension, else the format's default). */
  readonly container?: Container;
  /** JSONL file receiving every record not written, with the reasons (one line per record). */
  readonly rejects?: string;
}

/** Per-input accounting. */
export interface InputCount {
  readonly file: string;
  format: string;
  read: number;
  written: number;
  rejected: number;
}

/**
 * What an operation did with the records. `read === written + rejected` always holds (each record is written to
 * one output or rejected with a reason).
 */
export interface OpSummary {
  read: number;
  written: number;
  rejected: number;
  /** Rejected records by rule id. */
  readonly rejectedByRule: Record<string, number>;
  readonly inputs: InputCount[];
  /** Records written per output path. */
  readonly outputs: Record<string, number>;
  /** True when the operation stopped at a fatal input error; nothing was written. */
  failed: boolean;
  /** The diagnostic that stopped the operation. */
  fatal?: Diagnostic;
  durationMs: number;
}

/** A new, empty {@link OpSummary}. */
export function emptySummary(): OpSummary {
  return {
    read: 0,
    written: 0,
    rejected: 0,
    rejectedByRule: {},
    inputs: [],
    outputs: {},
    failed: false,
    durationMs: 0,
  };
}
