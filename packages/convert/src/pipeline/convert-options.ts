import type { Diagnostic } from '@llavakit/diagnostics';
import type { Container, ImageAccess, SourceRecord } from '@llavakit/format';
import type { InputSource } from '@llavakit/reader';
import type { OptionArgument } from '../plugins/options.js';
import type { FormatRegistry } from '../plugins/registry.js';
import type { ExtractImagesOptions } from './extract-images.js';
import type { ParallelOptions } from './parallel/run.js';
import type { RunPath } from './paths.js';

/** What to do with a record that cannot be converted. */
export type OnInvalid = 'skip' | 'fail';

/** Options of {@link convert}. */
export interface ConvertOptions {
  /** Input paths (`-` for standard input). Records of all inputs go to one output, in order. */
  readonly inputs: readonly string[];
  /** Input format name; detected per input when absent. */
  readonly from?: string;
  /** Output format name. */
  readonly to: string;
  /** Output path, or `-` for standard output. */
  readonly output: string;
  /** JSON array or JSON Lines; default from the output extension, else the format's default, else `json`. */
  readonly container?: Container;
  /** The formats to choose from. */
  readonly registry: FormatRegistry;
  /**
   * Raw option values for the target format (parsed by its `optionsSchema`; unknown keys ignored). Input formats
   * never see them: a writer's option (`imageToken: 'strip'`) is not checked against a reader's schema.
   */
  readonly formatOptions?: Readonly<Record<string, unknown>>;
  /** Raw option values for the input formats, parsed and validated by each input format's own `optionsSchema`. */
  readonly readOptions?: Readonly<Record<string, unknown>>;
  /** `--read-option key=value` arguments as typed (see `parseOptionArguments`), for the input formats only. */
  readonly readOptionArguments?: readonly OptionArgument[];
  /**
   * `-O key=value` arguments as the user typed them (see `parseOptionArguments`): coerced to each option's type, a
   * name no format of the run knows is a usage error (`options/unknown`) listing the options; `formatOptions` win.
   */
  readonly optionArguments?: readonly OptionArgument[];
  /**
   * Further files the run writes besides `output` and `rejects` (e.g. `--dataset-info`): checked, with them, to be
   * distinct files that are not inputs, before anything is written.
   */
  readonly otherOutputs?: readonly RunPath[];
  /** Allow `output` to be one of the inputs (it replaces it once the run is complete). Default false. */
  readonly allowInputOverwrite?: boolean;
  /**
   * Time limit of one asynchronous `encode` of the target format, in ms (default 60000): a record whose encode has
   * not settled by then is rejected (`format/encode-failed`), and the run goes on.
   */
  readonly encodeTimeoutMs?: number;
  /** `skip` (default): reject the record and go on; `fail`: stop at the first rejected record, write nothing. */
  readonly onInvalid?: OnInvalid;
  /** Path of a JSONL file receiving every rejected record with its diagnostics. */
  readonly rejects?: string;
  /** Image access for path rewriting and embedding. Default: identity rewrite, no bytes. */
  readonly images?: ImageAccess;
  /**
   * Extra record checks run before encoding (e.g. the validation rules, image lookups): an `error` rejects the record,
   * other findings are reported as notes. Throwing a `DiagnosticError` rejects the record and stops the conversion
   * (nothing is written).
   */
  readonly check?: (source: SourceRecord) => readonly Diagnostic[] | Promise<readonly Diagnostic[]>;
  /** Called for each rejected record, with its reasons (they also go to the rejects file). */
  readonly onReject?: (rejection: { file: string; index: number; diagnostics: readonly Diagnostic[] }) => void;
  /** Called for each diagnostic that does not reject a record. */
  readonly onDiagnostic?: (diagnostic: Diagnostic) => void;
  /** Progress: bytes read of the current input, its size, and records read so far. */
  readonly onProgress?: (progress: ConvertProgress) => void;
  /**
   * Attach metadata records (CC-3M `metadata.json`, `blip_laion_cc_sbu_558k_meta.json`) to the input records,
   * matched by image (and id when both have one), under `key` (default `metadata`). Records without metadata are
   * counted (`metadata:missing`) and reported as info diagnostics.
   */
  readonly metadata?: { readonly path: string; readonly key?: string; readonly matchIds?: boolean };
  /**
   * Write the images that come embedded in the input (e.g. Hugging Face Parquet) into this folder and point the
   * records at them (names made safe and unique); the folder's new files appear only when the conversion succeeds.
   * Without it, embedded images still reach writers that read bytes (`openai` with embedding, `parquet`).
   */
  readonly extractImages?: ExtractImagesOptions;
  /** Standard input, when an input is `-` (default `process.stdin`). */
  readonly stdin?: InputSource;
  /**
   * Read only the records whose 0-based index in their input passes (a shard, see `selectShard`); the others belong
   * to other runs and are neither read, written nor rejected here. Default: every record.
   */
  readonly keepRecord?: (index: number) => boolean;
  /**
   * Spread parsing, checking and encoding over worker threads (see `ParallelOptions`); the output is the same bytes,
   * rejects and diagnostics in the same order. Absent: everything runs in this thread.
   */
  readonly parallel?: ParallelOptions;
  /**
   * Aborts the conversion (e.g. on SIGINT): no output is created or replaced, temporary files are removed, and the
   * summary fails with `run/interrupted`.
   */
  readonly signal?: AbortSignal;
}

/** Progress of a conversion. */
export interface ConvertProgress {
  readonly file: string;
  readonly bytesRead: number;
  readonly totalBytes?: number;
  readonly records: number;
}

/** Per-input part of a {@link ConvertSummary}. */
export interface InputSummary {
  readonly file: string;
  readonly format: string;
  read: number;
  written: number;
  rejected: number;
}

/**
 * What a conversion did. `read === written + rejected + discarded` always holds; `discarded` is 0 unless the run
 * failed, and a failed run reports nothing as written (its output was not created).
 */
export interface ConvertSummary {
  readonly from: string[];
  readonly to: string;
  readonly output: string;
  readonly container: Container | undefined;
  readonly inputs: InputSummary[];
  read: number;
  written: number;
  rejected: number;
  /** Records that were converted but not written because the run stopped (a failed run writes no output). */
  discarded: number;
  /** Named event counts reported by the formats (e.g. `images:repeated-per-token`). */
  readonly counts: Record<string, number>;
  /** What the target format cannot hold. */
  readonly limitations: readonly string[];
  /** Diagnostics by severity (rejections and notes). */
  readonly diagnostics: { error: number; warning: number; info: number };
  /** Rejected records by rule id. */
  readonly rejectedByRule: Record<string, number>;
  /** True when the conversion stopped (fatal input error, or `onInvalid: 'fail'`); the output was not written. */
  failed: boolean;
  /** The diagnostic that stopped the conversion. */
  fatal?: Diagnostic;
  durationMs: number;
}
