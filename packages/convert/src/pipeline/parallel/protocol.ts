/**
 * The messages between the main thread of a parallel conversion (`run.ts`) and its worker threads (`worker.ts`).
 * The main thread scans the input and sends batches of element BYTES (one transferred buffer, with the end offset and
 * place of each element); a worker parses, decodes, checks and encodes them and answers with the output text of the
 * batch and, per record, what the main thread must replay in input order (notes, counts, rejects, a fatal error).
 */
import type { Diagnostic } from '@llavakit/diagnostics';
import type { RecordPlace } from '@llavakit/reader';
import type { RecordFacts, ValidationKind } from '@llavakit/schema';

/** How a worker finds a format: a built-in by name, or the module file of a `--plugin`. */
export interface FormatRef {
  readonly name: string;
  /** The plugin's module file (absent for built-in formats). */
  readonly module?: string;
  /** The plugin's package name, as its diagnostics name it. */
  readonly plugin?: string;
}

/** What every worker of a conversion gets at start (`workerData`). */
export interface WorkerSetup {
  readonly target: FormatRef;
  /** The target format's options, already parsed by its schema on the main thread. */
  readonly targetOptions: object;
  /** `record`: the per-record validation rules (`createRecordChecker`) run before encoding. */
  readonly check?: 'record';
  /** Time limit of one asynchronous encode, in ms. */
  readonly encodeTimeoutMs: number;
  /** True when the run keeps a rejects file: workers then make each rejected record's line. */
  readonly rejects: boolean;
  /** `'\n'` (JSON Lines) or `',\n'` (JSON array): what goes between two encoded records of a batch. */
  readonly separator: string;
}

/** The next input: its batches follow. Answered with a {@link ReadyMessage}. */
export interface InputMessage {
  readonly kind: 'input';
  /** The input as diagnostics name it. */
  readonly file: string;
  readonly source: FormatRef;
  /** The input format's options, already parsed by its schema on the main thread. */
  readonly readOptions: object;
}

/** The answer of a worker once set up (at start, and to each {@link InputMessage}): ready, or why it cannot convert (the run then stays in one thread). */
export type ReadyMessage = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** One batch of elements, in input order. */
export interface BatchMessage {
  readonly kind: 'batch';
  readonly id: number;
  /** The elements' bytes, in order (with what separated them in the input, when they came from one chunk). */
  readonly buffer: ArrayBuffer;
  /** Start offset of each element in `buffer` (element k spans `starts[k] … ends[k]`). */
  readonly starts: Int32Array;
  /** End offset of each element in `buffer`. */
  readonly ends: Int32Array;
  /** Per element: index, byte offset, line, column (4 numbers). */
  readonly places: Float64Array;
  /** Per element: 1 when the record is this run's (see `keepRecord`), 0 when it is only parsed and decoded. */
  readonly keep: Uint8Array | undefined;
  /**
   * A buffer for the batch's output, handed back from an earlier answer once its bytes were written (the worker
   * allocates one when absent or too small): output buffers cycle instead of being allocated per batch.
   */
  readonly output?: ArrayBuffer | undefined;
  /**
   * In this thread only (never posted): what the runner's element reading (`BatchRunner.known`) made of the elements
   * its element reader took, by position (see `plainValidation`, `fused.ts`).
   */
  readonly known?: readonly unknown[] | undefined;
  /** Elements the scanner rejected itself (no bytes kept: a JSON Lines line over the size limit), by position. */
  readonly rejected:
    | readonly { readonly k: number; readonly diagnostic: Diagnostic; readonly length: number }[]
    | undefined;
}

/** What the main thread replays for one record, in the order it happened. */
export type RecordEvent =
  | { readonly k: number; readonly kind: 'note'; readonly diagnostic: Diagnostic }
  | { readonly k: number; readonly kind: 'count'; readonly event: string; readonly by: number }
  | {
      readonly k: number;
      readonly kind: 'reject';
      /** The record's index in its input. */
      readonly index: number;
      readonly diagnostics: readonly Diagnostic[];
      /** The rejects file line (when the run keeps one). */
      readonly line: string | undefined;
    }
  | { readonly k: number; readonly kind: 'fatal'; readonly diagnostic: Diagnostic };

/** Status of each element of a batch. */
export const SKIPPED = 0;
export const WRITTEN = 1;
export const REJECTED = 2;
/** Not reached: a fatal error came first. */
export const UNREAD = 3;

/** A worker's answer to a {@link BatchMessage}. */
export interface BatchResult {
  readonly id: number;
  /** The encoded records written, joined by the setup's separator, as UTF-8. */
  readonly out: Uint8Array;
  /** The batch's input buffer, handed back for the next batch. */
  readonly input: ArrayBuffer;
  /** Per element: {@link SKIPPED}, {@link WRITTEN}, {@link REJECTED} or {@link UNREAD}. */
  readonly status: Uint8Array;
  /** Per element: the length in bytes of its encoded text in `out` (0 unless written). */
  readonly lengths: Int32Array;
  /** Sparse, in record order. */
  readonly events: readonly RecordEvent[];
}

/** What every worker of a parallel validation of one input gets at start (`workerData`). */
export interface ValidationSetup {
  readonly file: string;
  readonly kind: ValidationKind;
  readonly ignore: readonly string[];
  /** The format records are decoded with before they are checked (absent: the raw records are checked). */
  readonly format?: FormatRef;
  readonly formatOptions: object;
}

/** One checked record of a {@link ValidationResult}. */
/**
 * A plain record's facts (`plain.ts`: no per-record finding), compactly: its index, id, image hash and image path
 * (`recordFactsOf` of `{ id, image }` — a third of the JSON of a {@link CheckedRecord}), and `head`: the length in
 * bytes of the record's text up to the end of its image (or id), which holds every place the cross-record rules
 * point at (`/id`, `/image`).
 */
export type PlainFacts = readonly [index: number, id: string | number, imageHash: number, head: number, image?: string];

/** Whether a checked batch's entry is a plain record's facts. */
export function isPlainFacts(entry: CheckedRecord | PlainFacts): entry is PlainFacts {
  return Array.isArray(entry);
}

export interface CheckedRecord {
  /** Its index in the input. */
  readonly i: number;
  /** Its per-record diagnostics, pointers already into the record as written (absent: none). */
  readonly d?: readonly Diagnostic[];
  /** What the cross-record rules need (records that are objects). */
  readonly f?: RecordFacts;
}

/** A worker's answer to a {@link BatchMessage} of a validation. */
export interface ValidationResult {
  readonly id: number;
  /** The batch's buffers, handed back: the main thread reads an element's text from them when a place needs it. */
  readonly input: ArrayBuffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly places: Float64Array;
  /**
   * Per element, as UTF-8 JSON: the checked record, or null (another run's record, or after a fatal error). JSON
   * bytes, moved, because the main thread parses them much faster than it deserializes 100,000 posted objects.
   */
  readonly records: Uint8Array;
  /** The fatal error that ended the read at element `fatalAt` (-1: none). */
  readonly fatalAt: number;
  readonly fatal?: Diagnostic;
}

/** The place of element `k` of a batch (its four numbers in {@link BatchMessage.places}), `length` bytes long. */
export function elementPlace(places: Float64Array, k: number, length: number): RecordPlace {
  return {
    index: places[k * 4]!,
    offset: places[k * 4 + 1]!,
    line: places[k * 4 + 2]!,
    column: places[k * 4 + 3]!,
    length,
  };
}
