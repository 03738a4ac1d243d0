import type { Diagnostic } from '@llavakit/diagnostics';
import type { InputSource, RecordPlace } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';
import type * as z from 'zod';

/** The version of this contract, as a type: a plugin declares `specVersion: 1`. */
export type SpecVersion = 1;

/** The version of this contract. A plugin declares the version it was written against. */
export const SPEC_VERSION: SpecVersion = 1;

/** Spec versions this copy of the contract can load. */
export const SUPPORTED_SPEC_VERSIONS: readonly number[] = [1];

/** A JSON container: one array of records, or one record per line. */
export type Container = 'json' | 'jsonl';

/** What a format's `detect` sees: the file name, the first bytes as text, and the first parsed records. */
export interface DetectProbe {
  /** The input path as given (`-` for standard input). */
  readonly path?: string;
  /** The first bytes of the input (at most 64 KiB), decoded as UTF-8. */
  readonly head: string;
  /** Up to the first 5 records, parsed, when the input is JSON or JSONL. */
  readonly values: readonly unknown[];
}

/**
 * Image bytes that travel inside the input itself (e.g. the `bytes` of a Hugging Face Parquet `Image` cell), keyed
 * by the path the record names in `image`. A reader attaches them to a record ({@link ReadResult}); the host hands
 * them on ({@link SourceRecord.embedded}), answers {@link ImageAccess.readBytes} for them, and with an image-extraction
 * folder writes them to disk and points the record's paths there.
 *
 * The bytes are valid while the record is being converted: keep no reference to them afterwards.
 */
export type EmbeddedImages = ReadonlyMap<string, Uint8Array>;

/** A canonical record on its way through a conversion, with where it came from. */
export interface SourceRecord {
  /** The canonical (LLaVA) record. */
  readonly record: LlavaRecord;
  /** 0-based index in its input file. */
  readonly index: number;
  /** The input file, as the user named it. */
  readonly file: string;
  /** Where the record starts in the file, when known. */
  readonly place?: RecordPlace;
  /**
   * Image bytes that came inside the input, keyed by the paths in `record.image` (optional: most inputs only name
   * files). Stream-level writers may read them here; {@link ImageAccess.readBytes} answers them too.
   */
  readonly embedded?: EmbeddedImages;
}

/** Access to image bytes and path rewriting, given to formats by the host (backed by `@llavakit/images`). */
export interface ImageAccess {
  /** Rewrite an image path for the output (`--image-paths`); identity when not configured. */
  rewrite(path: string): string;
  /**
   * Read an image's bytes through the configured sources; `undefined` when it cannot be found. While a record is being
   * converted, the host answers its {@link SourceRecord.embedded} images first.
   */
  readBytes(path: string): Promise<Uint8Array | undefined>;
}

/** What every format function receives instead of `this`. */
export interface FormatContext<Options> {
  /** The format's options, already parsed by its `optionsSchema`. */
  readonly options: Options;
  /** The file being read or written, as the user named it. */
  readonly file: string;
  /** Report a diagnostic that does not reject a record (a note, a loss, a warning). */
  report(diagnostic: Diagnostic): void;
  /** Count a named event for the summary (e.g. `image-token:moved-to-front`). */
  count(event: string, by?: number): void;
  /** Image access (path rewriting, bytes for embedding). */
  readonly images: ImageAccess;
  /** Aborted when the user interrupts the run. */
  readonly signal?: AbortSignal;
}

/** The result of encoding one canonical record into a target record. */
export type EncodeResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** The result of decoding one parsed value of a format into a canonical record. */
export type DecodeResult =
  | { readonly ok: true; readonly record: LlavaRecord }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Context of record-level `encode`/`decode`: the shared context plus the record's place. */
export interface RecordContext<Options> extends FormatContext<Options> {
  /** 0-based index of the record in its input. */
  readonly index: number;
}

/** Where a stream-level writer writes: a path (`-` for standard output) and the requested container. */
export interface OutputTarget {
  /** Output path, or `-` for standard output. */
  readonly path: string;
  /** The container chosen by flag or extension, when the format uses one. */
  readonly container?: Container;
}

/** Context of a stream-level `write`. */
export interface WriteContext<Options> extends FormatContext<Options> {
  /** Where to write. A writer must write atomically (temporary file, then rename). */
  readonly output: OutputTarget;
  /** Report a record as written. */
  accept(source: SourceRecord): void;
  /** Report a record as rejected, with the reasons; it goes to the rejects file. */
  reject(source: SourceRecord, diagnostics: readonly Diagnostic[]): void;
}

/** One item a stream-level `read` yields: a record, or a rejected input with its reasons. */
export type ReadResult =
  | {
      readonly ok: true;
      readonly record: LlavaRecord;
      readonly index: number;
      readonly place?: RecordPlace;
      /** Image bytes carried by the input for this record, keyed by the paths in `record.image` (optional). */
      readonly embedded?: EmbeddedImages;
    }
  | {
      readonly ok: false;
      readonly diagnostics: readonly Diagnostic[];
      readonly index: number;
      readonly place?: RecordPlace;
      readonly text?: string;
    };

/**
 * A format plugin: how llavakit reads and/or writes one dataset format. Built-in formats use exactly this contract.
 *
 * A format is either **record-level** (`encode`/`decode`: one JSON value per record; the host handles JSON array vs
 * JSONL, streaming, atomic writes and rejects) or **stream-level** (`read`/`write`: the format owns its container,
 * e.g. tar shards or Parquet). A format may mix the two (e.g. `decode` + `write`).
 */
export interface FormatPlugin<Options extends object = Record<string, unknown>> {
  /** The contract version the plugin targets; must be one of {@link SUPPORTED_SPEC_VERSIONS}. */
  readonly specVersion: SpecVersion;
  /** Unique kebab-case name, used by `--from`/`--to` and shown in every diagnostic's `source`. */
  readonly name: string;
  /** One-line description for `llava formats`. */
  readonly description?: string;
  /** File extensions (with the dot) that suggest this format, e.g. `['.jsonl']`. */
  readonly extensions?: readonly string[];
  /** The container used when neither a flag nor the output extension chooses one. */
  readonly defaultContainer?: Container;
  /** What the target cannot hold (e.g. "no record id"): shown in `llava formats <name>` and in summaries. */
  readonly limitations?: readonly string[];
  /**
   * The limitations that apply to a run with these (parsed) options, for conversion summaries; default: all of
   * {@link limitations}. Lets a format note what an option changes only when the option is on.
   */
  limitationsFor?(options: Options): readonly string[];
  /** Options, as a zod object; they appear in `llava convert --help` and `llava formats <name>`. */
  readonly optionsSchema?: z.ZodObject;
  /** How likely an input is in this format: 0 (no) to 1 (certain). */
  detect?(probe: DetectProbe): number;
  /** Decode one parsed JSON value of this format into a canonical record. */
  decode?(value: unknown, context: RecordContext<Options>): DecodeResult;
  /** Encode one canonical record into one JSON value of this format. */
  encode?(record: LlavaRecord, context: RecordContext<Options>): EncodeResult | Promise<EncodeResult>;
  /** Read a whole input of this format (stream-level formats). */
  read?(input: InputSource, context: FormatContext<Options>): AsyncIterable<ReadResult>;
  /** Write all records (stream-level formats). Resolves when the output is complete and in place. */
  write?(records: AsyncIterable<SourceRecord>, context: WriteContext<Options>): Promise<void>;
}

/** True when the format can read input. */
export function canRead(format: FormatPlugin<object>): boolean {
  return typeof format.decode === 'function' || typeof format.read === 'function';
}

/** True when the format can write output. */
export function canWrite(format: FormatPlugin<object>): boolean {
  return typeof format.encode === 'function' || typeof format.write === 'function';
}

/**
 * Define a format plugin. An identity function that type-checks the object and infers the options type from its
 * `optionsSchema`.
 *
 * @example
 * ```ts
 * export default defineFormat({
 *   specVersion: 1,
 *   name: 'my-format',
 *   extensions: ['.jsonl'],
 *   optionsSchema: z.object({ upper: z.boolean().default(false).describe('Upper-case every value') }),
 *   encode: (record, { options }) => ({ ok: true, value: { turns: record.conversations.length } }),
 * });
 * ```
 */
export function defineFormat<Schema extends z.ZodObject = z.ZodObject<Record<string, never>>>(
  format: FormatPlugin<z.output<Schema>> & { readonly optionsSchema?: Schema },
): FormatPlugin<z.output<Schema>> {
  return format;
}
