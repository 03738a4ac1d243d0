/**
 * The messages between `computeStats` with workers (`stats-parallel.ts`) and its worker threads (`stats-worker.ts`).
 * Batches of element bytes go out as for a parallel conversion (`BatchMessage` of `@llavakit/convert`, with its
 * `input` messages between inputs); a worker answers with what it counted and the duplicate keys of each record.
 */
import type { Diagnostic } from '@llavakit/diagnostics';
import type { StatsPart } from './stats-count.js';
import type { ModelPreset } from './tokens.js';

/** What every stats worker gets at start (`workerData`). */
export interface StatsSetup {
  /** Count tokens (each worker loads the tokenizer once). */
  readonly tokens: boolean;
  readonly model: ModelPreset;
  readonly template?: string;
}

/** A worker's answer to one batch. */
export interface StatsBatchResult {
  readonly id: number;
  /** The batch's input buffer, handed back for the next batch. */
  readonly input: ArrayBuffer;
  /** What the batch's records of this run count (everything but duplicates). */
  readonly part: StatsPart;
  /**
   * Per record counted, in input order, 4 numbers: its id's 64-bit key (hi, lo; 0, 0 without id, see `hasId`) and
   * its conversation's key (hi, lo). The main thread keeps the one table of the run.
   */
  readonly keys: Uint32Array;
  /** Per record counted: 1 when it has an id. */
  readonly hasId: Uint8Array;
  /** The fatal error that ended the read inside this batch (what came before it is in `part`). */
  readonly fatal?: Diagnostic;
}
