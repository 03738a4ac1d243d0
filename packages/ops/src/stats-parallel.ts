/** `computeStats` over worker threads: the main thread scans each input, workers parse, decode and count. */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  type FormatRef,
  type FormatRegistry,
  feedPool,
  outputRules,
  PoolStartError,
  WorkerPool,
} from '@llavakit/convert';
import { DiagnosticError } from '@llavakit/diagnostics';
import type { FormatPlugin } from '@llavakit/format';
import { openSource } from '@llavakit/reader';
import type { KeyTable } from './hash.js';
import type { OpProgress } from './op-types.js';
import type { OpenedInput } from './read-inputs.js';
import type { StatsCounter } from './stats-count.js';
import type { StatsBatchResult, StatsSetup } from './stats-protocol.js';

/** How long a worker may take to start (load the tokenizer) or to import an input's format, in ms. */
const READY_TIMEOUT_MS = 20_000;

/**
 * Default largest batch, in bytes. Smaller than a conversion's (2 MiB): a batch costs a stats worker much more time
 * per byte (tokens), so small batches keep both workers busy just as well, and the buffers in flight and cycling
 * (about 5 per worker) stay small beside the workers' tokenizers.
 */
export const STATS_BATCH_BYTES = 512 * 1024;

/**
 * The worker script: `stats-worker.js` beside this module, or — when this module runs from its TypeScript sources
 * (tests) — the built one in `dist/` (Node cannot start a `.ts` worker). `undefined` when there is none.
 */
function statsWorkerScript(): URL | undefined {
  const url = import.meta.url.endsWith('.ts')
    ? new URL('../dist/stats-worker.js', import.meta.url)
    : new URL('./stats-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** The pool's `run/worker-failed` (worded for a conversion) as a stats run meets it; other errors as they are. */
function statsWording(error: unknown): unknown {
  if (!DiagnosticError.is(error) || error.diagnostic.ruleId !== outputRules.workerFailed.id) return error;
  const { message, hint: _hint, ...diagnostic } = error.diagnostic;
  return new DiagnosticError({
    ...diagnostic,
    message: message.replace(/^The conversion stopped/, 'The stats stopped'),
    hint: 'Nothing was counted. Run again with --workers 1 to count in one thread (and report the failure).',
  });
}

/** What {@link StatsWorkers} needs that does not change per input. */
export interface StatsWorkersOptions {
  /** Worker threads (1: none). */
  readonly workers: number;
  /** Inputs smaller than this (and streams, when set) are counted in this thread. */
  readonly minInputBytes: number;
  readonly setup: StatsSetup;
  readonly registry: FormatRegistry;
  readonly signal?: AbortSignal | undefined;
  /** Called once, with the reason, when an input that could have gone to workers is counted in this thread. */
  readonly onFallback?: ((reason: string) => void) | undefined;
  /** Largest batch in bytes (default {@link STATS_BATCH_BYTES}). */
  readonly batchBytes?: number | undefined;
  /** Batches in flight per worker (default 2). */
  readonly inFlightPerWorker?: number | undefined;
}

/** Where one input's counts go. */
export interface StatsSink {
  readonly counter: StatsCounter;
  readonly ids: KeyTable;
  readonly conversations: KeyTable;
  /** Duplicates found (added to by every batch). */
  readonly duplicates: { ids: number; conversations: number };
}

/**
 * Decides, per input, whether workers count it, and runs them. The pool starts once (at the first input that goes
 * to it) and takes each input's format; {@link StatsWorkers.close} stops it.
 */
export class StatsWorkers {
  #pool: Promise<WorkerPool<StatsBatchResult>> | undefined;
  #told = false;

  constructor(readonly options: StatsWorkersOptions) {}

  #fallback(reason: string): false {
    if (!this.#told) {
      this.#told = true;
      this.options.onFallback?.(reason);
    }
    return false;
  }

  #refOf(format: FormatPlugin<object>): FormatRef | undefined {
    const entry = this.options.registry.get(format.name);
    if (!entry || entry.format !== format) return undefined;
    if (entry.origin.via === 'builtin') return { name: format.name };
    if (entry.origin.via === 'specifier' && entry.origin.file) {
      return { name: format.name, module: entry.origin.file, plugin: entry.origin.plugin };
    }
    return undefined;
  }

  /**
   * Count one opened input in workers when it can be: resolves `false` (nothing read: the caller reads it in this
   * thread) or `true` once every record was counted into `sink`. Throws what the in-process loop would (a fatal
   * input error), or `run/worker-failed` when a worker dies.
   */
  async count(
    file: string,
    opened: OpenedInput,
    readOptions: object,
    sink: StatsSink,
    job: {
      readonly keepRecord?: ((index: number) => boolean) | undefined;
      readonly onProgress?: ((progress: OpProgress) => void) | undefined;
    },
  ): Promise<boolean> {
    const { options } = this;
    if (options.workers <= 1) return false;
    const { format } = opened;
    if (format.read || !format.decode) return this.#fallback(`${format.name} reads its own container`);
    const source = this.#refOf(format);
    if (!source) {
      const origin = options.registry.get(format.name)?.origin;
      return this.#fallback(
        `format ${format.name} comes from ${origin ? `${origin.plugin} (${origin.via})` : 'outside the registry'}, which worker threads cannot import`,
      );
    }
    const script = statsWorkerScript();
    if (!script) return this.#fallback('the worker script is not built');
    const input = { file, source, readOptions };
    try {
      structuredClone(input);
    } catch {
      return this.#fallback('the format options cannot be sent to worker threads');
    }
    if (options.minInputBytes > 0) {
      // (a stream's size is not known: it stays in this thread too)
      const path = opened.input;
      const info = typeof path === 'string' && path !== '-' ? await stat(path).catch(() => undefined) : undefined;
      if (!info?.isFile() || info.size < options.minInputBytes) return false;
    }
    let pool: WorkerPool<StatsBatchResult>;
    try {
      this.#pool ??= WorkerPool.start<StatsBatchResult>(
        script,
        options.workers,
        options.setup,
        READY_TIMEOUT_MS,
        options.signal,
      );
      pool = await this.#pool;
      await pool.begin(input, READY_TIMEOUT_MS);
    } catch (error) {
      await this.close();
      if (error instanceof PoolStartError) return this.#fallback(error.message);
      throw error;
    }
    const signal = options.signal;
    const batchBytes = options.batchBytes ?? STATS_BATCH_BYTES;
    // Chunks a little smaller than a batch: the elements that end in one chunk fit one batch buffer.
    const chunkSize = Math.max(1024, batchBytes - (batchBytes >> 4));
    const chunks = await openSource(opened.input, { file, chunkSize, ...(signal ? { signal } : {}) });
    const { counter, ids, conversations, duplicates } = sink;
    const key = { hi: 0, lo: 0 };
    try {
      await feedPool(
        {
          file,
          ...(job.keepRecord ? { keepRecord: job.keepRecord } : {}),
          ...(signal ? { signal } : {}),
          ...(job.onProgress
            ? {
                onProgress: (bytesRead: number, records: number, totalBytes?: number) =>
                  job.onProgress?.({
                    pass: 'stats',
                    file,
                    bytesRead,
                    records,
                    ...(totalBytes !== undefined ? { totalBytes } : {}),
                  }),
              }
            : {}),
        },
        chunks,
        pool,
        { batchBytes, ...(options.inFlightPerWorker ? { inFlightPerWorker: options.inFlightPerWorker } : {}) },
        async (result) => {
          counter.merge(result.part);
          const { keys, hasId } = result;
          for (let j = 0; j < hasId.length; j++) {
            if (hasId[j]) {
              key.hi = keys[j * 4]!;
              key.lo = keys[j * 4 + 1]!;
              if (ids.putIfAbsent(key, 1) !== undefined) duplicates.ids++;
            }
            key.hi = keys[j * 4 + 2]!;
            key.lo = keys[j * 4 + 3]!;
            if (conversations.putIfAbsent(key, 1) !== undefined) duplicates.conversations++;
          }
          if (result.fatal) throw new DiagnosticError(result.fatal);
        },
      );
    } catch (error) {
      // a batch in flight may still be running: the workers are stopped with the run
      await this.close();
      throw statsWording(error);
    }
    return true;
  }

  /** Stop the workers (after the last input, or when the run stops). */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.terminate();
  }
}
