import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Diagnostic } from '@llavakit/diagnostics';
import { DiagnosticError } from '@llavakit/diagnostics';
import type { FormatPlugin } from '@llavakit/format';
import { type InputSource, openSource } from '@llavakit/reader';
import type { FormatRegistry } from '../../plugins/registry.js';
import { StopConversion } from '../walls.js';
import { feedPool, type StartingPool } from './feed.js';
import { plainConversion } from './fused.js';
import { plainEncoderFor } from './plain-encoders.js';
import { PoolStartError, WorkerPool, workerScript } from './pool.js';
import { type BatchResult, type FormatRef, type WorkerSetup, WRITTEN } from './protocol.js';

/** How long a worker may take to start, or to import an input's format, in ms. */
const READY_TIMEOUT_MS = 10_000;

/** Options of a parallel conversion (`ConvertOptions.parallel`). */
export interface ParallelOptions {
  /**
   * Worker threads that parse, check and encode (default: the machine's available parallelism). `1` converts in this
   * thread, as without `parallel`.
   */
  readonly workers?: number;
  /**
   * Inputs smaller than this (bytes) convert in this thread: starting threads would cost more than they save. When
   * set, streams (whose size is not known) convert in this thread too. Default 0: every input that can go to workers
   * does.
   */
  readonly minInputBytes?: number;
  /**
   * What the workers run as `ConvertOptions.check` (a function cannot cross threads): `record` is
   * `createRecordChecker()` of `@llavakit/schema` (`--validate`). A run with another `check` stays in this thread.
   */
  readonly check?: 'record';
  /**
   * Set when `ConvertOptions.images` does nothing (no lookups, rewrites or bytes: no image flags): only then can
   * records be encoded in workers. Image work (checks, rewriting, embedding) runs in this thread, in input order.
   */
  readonly imagesUnused?: boolean;
  /**
   * Largest batch in bytes (default 2 MiB): the elements of each chunk read (1 MiB for files) go to a worker as one
   * batch, split when they pass this size.
   */
  readonly batchBytes?: number;
  /** Batches in flight per worker (default 2): what bounds memory. */
  readonly inFlightPerWorker?: number;
  /** Called once, with the reason, when a run that asked for workers converts in this thread. */
  readonly onFallback?: (reason: string) => void;
}

/** The default number of workers: the machine's available parallelism. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** Inputs under this size convert in one thread unless a worker count is given: starting threads costs more. */
export const AUTO_MIN_INPUT_BYTES = 8 * 1024 * 1024;

/**
 * The parallel options of a run for a `--workers` value (`runConvert`, `validateFiles`). `undefined` is the default:
 * with `auto`, the available parallelism for files of 8 MiB or more; without, one thread. Only an explicit request
 * that ends up in one thread is answered, once, through `onNote` (a default quietly uses one thread where workers
 * cannot help).
 */
export function workersOptions(
  workers: number | undefined,
  onNote: ((message: string) => void) | undefined,
  doing: 'converting' | 'validating',
  auto: boolean,
): { workers: number; minInputBytes: number; onFallback: (reason: string) => void } {
  let told = false;
  return {
    workers: workers ?? (auto ? defaultWorkers() : 1),
    minInputBytes: workers === undefined ? AUTO_MIN_INPUT_BYTES : 0,
    onFallback: (reason) => {
      if (told || workers === undefined || workers <= 1) return;
      told = true;
      onNote?.(`note: --workers ${workers}: ${doing} in one thread (${reason}).`);
    },
  };
}

/** What the conversion must do with what the workers found, in input order (see `convert`). */
export interface ParallelHost {
  /** A record of this run was read. */
  read(): void;
  note(diagnostic: Diagnostic): void;
  count(event: string, by: number): void;
  /** A record was rejected; `line` is its rejects-file line. */
  reject(index: number, diagnostics: readonly Diagnostic[], line: string | undefined): Promise<void>;
  /** A record was written. */
  accept(): void;
  /** Write `count` encoded records (UTF-8, already joined by the container's separator). */
  write(bytes: Uint8Array, count: number): Promise<void> | undefined;
  /** True once the run stopped on the data (`onInvalid: 'fail'`). */
  failed(): boolean;
}

/** One input of a parallel run. */
export interface ParallelInput {
  readonly file: string;
  readonly input: InputSource;
  readonly source: FormatPlugin<object>;
  readonly readOptions: object;
  readonly keepRecord?: (index: number) => boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number, records: number, totalBytes?: number) => void;
}

/** The parts of a conversion the workers need that do not change per input. */
export interface ParallelTarget {
  readonly registry: FormatRegistry;
  readonly target: FormatPlugin<object>;
  readonly targetOptions: object;
  readonly container: 'json' | 'jsonl';
  readonly encodeTimeoutMs: number;
  readonly rejects: boolean;
  /** True when the run has a `check` (it must then be {@link ParallelOptions.check}). */
  readonly hasCheck: boolean;
  readonly hasImages: boolean;
  readonly other?: string;
}

/**
 * Decides, per input, whether workers convert it, and runs them. Created once per conversion; says why it falls back
 * to this thread once.
 */
export class ParallelRun {
  #told = false;
  #pool: Promise<WorkerPool<BatchResult>> | undefined;

  /** Stop the workers (after the last input, or when a run stops). */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.terminate();
  }

  constructor(
    readonly options: ParallelOptions,
    readonly target: ParallelTarget,
  ) {}

  /** Workers asked for (1 = none). */
  get workers(): number {
    return Math.max(1, Math.floor(this.options.workers ?? defaultWorkers()));
  }

  #fallback(reason: string): false {
    if (!this.#told) {
      this.#told = true;
      this.options.onFallback?.(reason);
    }
    return false;
  }

  /** Why the whole run stays in this thread, or undefined when inputs may go to workers. */
  #runReason(): string | undefined {
    const t = this.target;
    if (this.workers <= 1) return 'one worker';
    if (!t.target.encode) return `${t.target.name} writes its own container (a stream-level writer)`;
    if (t.other) return t.other;
    if (t.hasImages && !this.options.imagesUnused) return 'image checks, rewriting or embedding run in this thread';
    if (t.hasCheck && this.options.check !== 'record') return 'a custom record check runs in this thread';
    if (!workerScript()) return 'the worker script is not built';
    return this.#refOf(t.target) ? undefined : this.#pluginReason(t.target);
  }

  #refOf(format: FormatPlugin<object>): FormatRef | undefined {
    const entry = this.target.registry.get(format.name);
    if (!entry || entry.format !== format) return undefined;
    if (entry.origin.via === 'builtin') return { name: format.name };
    if (entry.origin.via === 'specifier' && entry.origin.file) {
      return { name: format.name, module: entry.origin.file, plugin: entry.origin.plugin };
    }
    return undefined;
  }

  #pluginReason(format: FormatPlugin<object>): string {
    const origin = this.target.registry.get(format.name)?.origin;
    return `format ${format.name} comes from ${origin ? `${origin.plugin} (${origin.via})` : 'outside the registry'}, which worker threads cannot import`;
  }

  /**
   * Convert one input in workers when it can be: resolves `false` (nothing read) when it must be read in this thread
   * instead, `true` once it is done. Throws what the in-process path would (a fatal input error, `StopConversion`).
   */
  async convert(job: ParallelInput, host: ParallelHost): Promise<boolean> {
    const reason = this.#runReason();
    if (reason) return this.#fallback(reason);
    if (!job.source.decode || job.source.read) return this.#fallback(`${job.source.name} reads its own container`);
    const sourceRef = this.#refOf(job.source);
    if (!sourceRef) return this.#fallback(this.#pluginReason(job.source));
    const t = this.target;
    const setup: WorkerSetup = {
      target: this.#refOf(t.target)!,
      targetOptions: t.targetOptions,
      ...(this.options.check === 'record' && t.hasCheck ? { check: 'record' as const } : {}),
      encodeTimeoutMs: t.encodeTimeoutMs,
      rejects: t.rejects,
      separator: t.container === 'jsonl' ? '\n' : ',\n',
    };
    const input = { file: job.file, source: sourceRef, readOptions: job.readOptions };
    try {
      structuredClone([setup, input]);
    } catch {
      return this.#fallback('the format options cannot be sent to worker threads');
    }
    // (a stream's size is not known: with a minimum size, it stays in this thread too)
    const info =
      typeof job.input === 'string' && job.input !== '-' ? await stat(job.input).catch(() => undefined) : undefined;
    if ((this.options.minInputBytes ?? 0) > 0 && (!info?.isFile() || info.size < this.options.minInputBytes!)) {
      return false;
    }
    this.#pool ??= WorkerPool.start<BatchResult>(workerScript()!, this.workers, setup, READY_TIMEOUT_MS, job.signal);
    const starting = this.#pool.then(async (pool) => {
      await pool.begin(input, READY_TIMEOUT_MS);
      return pool;
    });
    starting.catch(() => undefined);
    let pool: WorkerPool<BatchResult> | StartingPool<BatchResult>;
    if (info?.isFile()) {
      // A file is read while the workers start (it can be read again, in this thread, if they cannot).
      pool = { size: this.workers, ready: starting };
    } else {
      // A stream (FIFO, stdin) is opened only once the pool took the input: it is never opened twice on a fall-back.
      try {
        pool = await starting;
      } catch (error) {
        await this.close();
        if (error instanceof PoolStartError) return this.#fallback(error.message);
        throw error;
      }
    }
    const opened = await openSource(job.input, { file: job.file, ...(job.signal ? { signal: job.signal } : {}) });
    try {
      const separatorLength = t.container === 'jsonl' ? 1 : 2;
      // Plain records are converted here as they are read (`fused.ts`); the workers take the others.
      const encoder = plainEncoderFor(sourceRef, setup.target, setup.targetOptions);
      const runner = encoder ? plainConversion(encoder, setup.separator, pool) : pool;
      // (the output copies what is written: each answer's buffer goes back to the workers once it is replayed)
      await feedPool(job, opened, runner, { ...this.options, recycleOutput: true }, (result) =>
        replay(result, host, separatorLength),
      );
    } catch (error) {
      // a batch in flight may still be running: the workers are stopped with the run
      await this.close();
      // (nothing was replayed: the first answer waits for the pool)
      if (error instanceof PoolStartError) return this.#fallback(error.message);
      throw error;
    }
    return true;
  }
}

/** Replay one batch's answer: counts, notes, rejects and output, record by record, as the in-process path does. */
async function replay(result: BatchResult, host: ParallelHost, separatorLength: number): Promise<void> {
  const { status, lengths, events } = result;
  let e = 0;
  let written = 0;
  let chars = 0;
  // The records written so far in this batch (all of them, or those before a stop).
  const flush = () => {
    if (written === 0) return undefined;
    const bytes = chars + (written - 1) * separatorLength;
    return host.write(bytes === result.out.length ? result.out : result.out.subarray(0, bytes), written);
  };
  for (let k = 0; k < status.length; k++) {
    const s = status[k]!;
    while (e < events.length && events[e]!.k === k) {
      const event = events[e++]!;
      switch (event.kind) {
        case 'note':
          host.note(event.diagnostic);
          break;
        case 'count':
          host.count(event.event, event.by);
          break;
        case 'fatal':
          await flush();
          throw new DiagnosticError(event.diagnostic);
        case 'reject':
          host.read();
          await host.reject(event.index, event.diagnostics, event.line);
          if (host.failed()) {
            await flush();
            throw new StopConversion();
          }
          break;
      }
    }
    if (s === WRITTEN) {
      host.read();
      host.accept();
      written++;
      chars += lengths[k]!;
    }
    // SKIPPED: another run's record (parsed and decoded only); UNREAD: after a fatal error
  }
  const pending = flush();
  if (pending) await pending;
}
