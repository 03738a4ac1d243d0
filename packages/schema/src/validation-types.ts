/** The kinds of data the validator knows, and where a record is in its file. */

/**
 * Which trainer the data is meant for. `llava` (default): LLaVA v1/v1.5 — `image` is one path string. `llava-next`:
 * LLaVA-NeXT/OneVision — `image` may also be a list of paths (one `<image>` per path).
 */
export type ValidationKind = 'llava' | 'llava-next' | 'metadata';

/**
 * The kinds {@link createValidator} understands. `metadata`: a pretraining metadata file (CC-3M `metadata.json`,
 * `blip_laion_cc_sbu_558k_meta.json`): records with an `image` path (and usually `id`, captions, URL), no
 * conversations; other keys are free.
 */
export const validationKinds: readonly ValidationKind[] = ['llava', 'llava-next', 'metadata'];

/**
 * Where a record is in its file: the reader's `RecordPlace` fits (index, byte offset, 1-based line and column of the
 * record's first byte; `-1`/`0` mean unknown).
 */
export interface ValidationPlace {
  readonly index: number;
  readonly offset?: number;
  readonly line?: number;
  readonly column?: number;
}

/** Options of {@link createValidator} and {@link createRecordChecker}. */
export interface ValidatorOptions {
  /** The file name put in diagnostics (as the user named it). */
  readonly file?: string;
  /** The trainer the data targets (default `llava`). */
  readonly kind?: ValidationKind;
  /**
   * Rule ids not applied (e.g. `image/placement` for a format whose trainer takes `<image>` anywhere). Only
   * {@link createValidator} honours it.
   */
  readonly ignore?: readonly string[];
}
