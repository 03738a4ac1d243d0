import { stat } from 'node:fs/promises';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { type InputSource, openSource } from '@llavakit/reader';
import { createCrossRecordValidator } from '@llavakit/schema';
import type { FormatRegistry } from '../../plugins/registry.js';
import type { ValidationPlan } from '../validate-input.js';
import { type BatchRunner, feedPool, type StartingPool } from './feed.js';
import { PoolStartError, WorkerPool, workerScript } from './pool.js';
import {
  type CheckedRecord,
  type FormatRef,
  isPlainFacts,
  type PlainFacts,
  type ValidationResult,
  type ValidationSetup,
} from './protocol.js';
import { defaultWorkers } from './run.js';
import { createBatchChecker, plainValidation } from './validate-batch.js';

/** Options of {@link startParallelValidation}. */
export interface ParallelValidationOptions {
  /** The input as diagnostics name it. */
  readonly file: string;
  /** The registry the plan's format comes from (a `--plugin` format is imported by the workers from its file). */
  readonly registry: FormatRegistry;
  /** Worker threads (default: the available parallelism); 1: none. */
  readonly workers?: number;
  /** Inputs smaller than this (and streams, when set) are validated in this thread. Default 0. */
  readonly minInputBytes?: number;
  readonly keepRecord?: (index: number) => boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number, totalBytes?: number) => void;
  /** Called with the reason when this input is validated in this thread although workers were asked for. */
  readonly onFallback?: (reason: string) => void;
  readonly batchBytes?: number;
  readonly inFlightPerWorker?: number;
}

/** What the caller does with each record, in input order (as its `readForValidation` + `Validator` loop does). */
export interface ValidationHost {
  /** A record was read (every record of this run, checked or unreadable). */
  record(): void;
  /** A diagnostic, in the order the in-process loop finds them. */
  diagnostic(diagnostic: Diagnostic): Promise<void> | void;
}

/** A validation running in worker threads: {@link ParallelValidation.run} once, then {@link ParallelValidation.finish}. */
export interface ParallelValidation {
  /** Read and check every record; throws the fatal `DiagnosticError` that ends the read, as the in-process path does. */
  run(host: ValidationHost): Promise<void>;
  /** The file-level rules (mixed id types, image path forms), as `Validator.finish`. */
  finish(): Diagnostic[];
}

/**
 * Validate one input with worker threads: the main thread scans the bytes, workers parse (and decode) and run the
 * per-record rules (`createRecordValidator`), the main thread runs the cross-record rules in input order
 * (`createCrossRecordValidator`) — the same diagnostics, in the same order, as `readForValidation` with
 * `createValidator`. Resolves `undefined` (nothing read) when the input must be validated in this thread: one worker,
 * a small input, a stream-level format, a format the workers cannot import.
 */
export async function startParallelValidation(
  input: InputSource,
  plan: ValidationPlan,
  options: ParallelValidationOptions,
): Promise<ParallelValidation | undefined> {
  const workers = Math.max(1, Math.floor(options.workers ?? defaultWorkers()));
  // (a stream-level format, e.g. Parquet or tar shards, reads its container itself: `readForValidation` runs it)
  if (plan.decode && (!plan.format.decode || plan.format.read)) {
    if (workers > 1) options.onFallback?.(`${plan.format.name} reads its own container`);
    return undefined;
  }
  const setup: ValidationSetup = {
    file: options.file,
    kind: plan.kind,
    ignore: plan.ignore,
    formatOptions: plan.decode && plan.format.optionsSchema ? (plan.format.optionsSchema.parse({}) as object) : {},
  };
  const inThread = (reason?: string) => {
    if (reason) options.onFallback?.(reason);
    return validation(input, plan, options, inThreadRunner(setup, plan));
  };
  if (workers <= 1) return inThread();
  let format: FormatRef | undefined;
  if (plan.decode) {
    const entry = options.registry.get(plan.format.name);
    if (entry?.format === plan.format && entry.origin.via === 'builtin') format = { name: plan.format.name };
    else if (entry?.format === plan.format && entry.origin.via === 'specifier' && entry.origin.file) {
      format = { name: plan.format.name, module: entry.origin.file, plugin: entry.origin.plugin };
    } else return inThread(`format ${plan.format.name} cannot be imported by worker threads`);
  }
  const script = workerScript('validate-worker');
  if (!script) return inThread('the worker script is not built');
  const info = typeof input === 'string' && input !== '-' ? await stat(input).catch(() => undefined) : undefined;
  if ((options.minInputBytes ?? 0) > 0 && (!info?.isFile() || info.size < options.minInputBytes!)) return inThread();
  const workerSetup: ValidationSetup = { ...setup, ...(format ? { format } : {}) };
  try {
    structuredClone(workerSetup);
  } catch {
    return inThread('the format options cannot be sent');
  }
  const pool = WorkerPool.start<ValidationResult>(script, workers, workerSetup, 10_000, options.signal);
  pool.catch(() => undefined);
  const starting = pool.then((started): BatchRunner<CheckedResult> => {
    return {
      size: started.size,
      run: (batch) =>
        started.run(batch).then((result) => {
          const r8 = result.records;
          // (parsed when the batch is replayed, in order: answers that wait for an earlier one hold only bytes)
          const records = () =>
            JSON.parse(Buffer.from(r8.buffer, r8.byteOffset, r8.byteLength).toString('utf8')) as (
              | CheckedRecord
              | PlainFacts
              | null
            )[];
          return { ...result, records };
        }),
    };
  });
  starting.catch(() => undefined);
  // (the workers may still be starting when the run ends, e.g. on a fatal error in the first chunk: waited for)
  const stop = async () => {
    await (await pool.catch(() => undefined))?.terminate();
  };
  if (info?.isFile()) {
    // A file is read while the workers start; if they cannot, it is read again in this thread (nothing was
    // replayed: the first answer waits for them).
    return validation(input, plan, options, { size: workers, ready: starting }, stop, (reason) => {
      options.onFallback?.(reason);
      return inThreadRunner(setup, plan);
    });
  }
  // A stream is opened once the workers are ready: it is never read twice.
  try {
    return validation(input, plan, options, await starting, stop);
  } catch (error) {
    if (error instanceof PoolStartError) return inThread(error.message);
    throw error;
  }
}

/** A checked batch with its buffers, as the replay takes it (from a worker, its records still to be parsed). */
type CheckedResult = Omit<ValidationResult, 'records'> & {
  readonly records: (CheckedRecord | PlainFacts | null)[] | (() => (CheckedRecord | PlainFacts | null)[]);
};

const NO_PATHS: (readonly [string, string])[] = [];

/** The batch checker run in this thread, one batch at a time. */
function inThreadRunner(setup: ValidationSetup, plan: ValidationPlan): BatchRunner<CheckedResult> {
  const check = createBatchChecker(setup, plan.decode ? plan.format.decode : undefined);
  return {
    size: 1,
    // In this thread, the scanner reads LLaVA's plain records itself (their facts made once, from the chunk).
    ...(!plan.decode && plan.kind === 'llava' ? { known: plainValidation() } : {}),
    run: async (batch) => ({
      id: batch.id,
      input: batch.buffer,
      starts: batch.starts,
      ends: batch.ends,
      places: batch.places,
      ...(await check(batch)),
    }),
  };
}

/**
 * Read the input (the scanner's element bytes, in batches), check each batch with `runner` and run the
 * cross-record rules on the results in input order.
 */
function validation(
  input: InputSource,
  plan: ValidationPlan,
  options: ParallelValidationOptions,
  runner: BatchRunner<CheckedResult> | StartingPool<CheckedResult>,
  stop?: () => Promise<void>,
  fallback?: (reason: string) => BatchRunner<CheckedResult>,
): ParallelValidation {
  const cross = createCrossRecordValidator({ file: options.file, kind: plan.kind, ignore: plan.ignore });
  const replay = async (result: CheckedResult, host: ValidationHost) => {
    const { starts, ends, places } = result;
    const records = typeof result.records === 'function' ? result.records() : result.records;
    let bytes: Buffer | undefined;
    // One place, one text function and one plain record's facts for the whole batch, refilled per record: the
    // cross-record rules read them while `add` runs and keep none of them (nothing is made per record).
    const place = { index: 0, offset: 0, line: 0, column: 0 };
    let start = 0;
    let end = 0;
    const text = plan.decode ? undefined : () => (bytes ??= Buffer.from(result.input)).toString('utf8', start, end);
    const image: [string, string] = ['', '/image'];
    const withImage: (readonly [string, string])[] = [image];
    const plainFacts: { id: string | number; rawId: string | number; imageHash: number; paths: typeof withImage } = {
      id: '',
      rawId: '',
      imageHash: 0,
      paths: withImage,
    };
    for (let k = 0; k < records.length; k++) {
      if (k === result.fatalAt) throw new DiagnosticError(result.fatal!);
      const r = records[k];
      if (!r) continue;
      host.record();
      const plain = isPlainFacts(r) ? r : undefined;
      const checked = plain ? undefined : (r as CheckedRecord);
      if (checked?.d) {
        for (const d of checked.d) {
          const pending = host.diagnostic(d);
          if (pending) await pending;
        }
      }
      let facts = checked?.f;
      if (plain) {
        plainFacts.id = plainFacts.rawId = plain[1];
        plainFacts.imageHash = plain[2];
        if (plain[4] === undefined) plainFacts.paths = NO_PATHS;
        else {
          image[0] = plain[4];
          plainFacts.paths = withImage;
        }
        facts = plainFacts;
      }
      if (facts) {
        place.index = plain ? plain[0] : checked!.i;
        place.offset = places[k * 4 + 1]!;
        place.line = places[k * 4 + 2]!;
        place.column = places[k * 4 + 3]!;
        // The record's text, for a place inside it (the first record of each id type and path form, and duplicates:
        // see CrossRecordValidator.add); of a plain record, the part up to its image, where those places are.
        // Decoded records have none.
        start = starts[k]!;
        end = plain ? start + plain[3] : ends[k]!;
        const duplicate = cross.add(facts, place, text);
        if (duplicate) await host.diagnostic(duplicate);
      }
    }
  };
  return {
    async run(host) {
      const read = async (by: BatchRunner<CheckedResult> | StartingPool<CheckedResult>) => {
        const opened = await openSource(input, {
          file: options.file,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const job = {
          file: options.file,
          ...(options.keepRecord ? { keepRecord: options.keepRecord } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress
            ? { onProgress: (bytes: number, _records: number, total?: number) => options.onProgress?.(bytes, total) }
            : {}),
        };
        await feedPool(job, opened, by, options, (result) => replay(result, host));
      };
      try {
        await read(runner);
      } catch (error) {
        if (!(fallback && error instanceof PoolStartError)) throw error;
        await stop?.();
        await read(fallback(error.message));
      } finally {
        await stop?.();
      }
    },
    finish: () => cross.finish(),
  };
}
