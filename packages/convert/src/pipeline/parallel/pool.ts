import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { outputRules } from '../rules.js';
import type { BatchMessage, BatchResult, InputMessage, ReadyMessage, WorkerSetup } from './protocol.js';

/**
 * The worker script: `worker.js` beside this module, or — when this module runs from its TypeScript sources (tests)
 * — the built one in `dist/` (Node cannot start a `.ts` worker). `undefined` when there is none.
 */
export function workerScript(name = 'worker'): URL | undefined {
  const url = import.meta.url.endsWith('.ts')
    ? new URL(`../../../dist/pipeline/parallel/${name}.js`, import.meta.url)
    : new URL(`./${name}.js`, import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * The Node options of a worker: the process's, without `--conditions` (a test runner resolving workspace packages to
 * their TypeScript sources would make the built worker import `.ts` files).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--conditions' || arg === '-C') i++;
    else if (!arg.startsWith('--conditions=')) out.push(arg);
  }
  return out;
}

/**
 * A worker thread with the process's Node options — or none, when a worker cannot take them (V8 flags such as
 * `--expose-gc` are per process: `ERR_WORKER_INVALID_EXEC_ARGV`).
 */
function startWorker(script: URL, setup: object): Worker {
  const options = {
    workerData: setup,
    // A small young generation: records die young, and three full-size ones would cost ~100 MiB of RSS.
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  };
  try {
    return new Worker(script, { ...options, execArgv: workerExecArgv() });
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(script, { ...options, execArgv: [] });
  }
}

/** Young generation of each worker, in MiB (`LLAVA_WORKER_YOUNG_MB` overrides it, for measurements). */
const YOUNG_GENERATION_MB = Number(process.env.LLAVA_WORKER_YOUNG_MB) || 8;

interface Slot {
  readonly worker: Worker;
  load: number;
  /** Waiting for this worker's answer to an input message. */
  begun?: (message: ReadyMessage) => void;
}

interface Pending<R> {
  readonly slot: Slot;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Why a pool could not start: the run then converts in this thread. */
export class PoolStartError extends Error {}

/**
 * A fixed set of worker threads converting batches. A worker that throws, exits or cannot answer makes every batch
 * in flight (and every later one) fail with a `run/worker-failed` diagnostic: the run stops, nothing is written.
 */
export class WorkerPool<R extends { readonly id: number } = BatchResult> {
  readonly #slots: Slot[] = [];
  readonly #pending = new Map<number, Pending<R>>();
  #failure: DiagnosticError | undefined;
  #closing = false;

  private constructor() {}

  /**
   * Start `count` workers with `setup` and wait until each is ready. Rejects with a {@link PoolStartError} (saying
   * why) when one cannot start, cannot load a format, or is not ready within `readyTimeoutMs`; the workers started
   * are terminated.
   */
  static async start<R extends { readonly id: number }>(
    script: URL,
    count: number,
    setup: WorkerSetup | object,
    readyTimeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WorkerPool<R>> {
    const pool = new WorkerPool<R>();
    const readies: Promise<void>[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = startWorker(script, setup);
        const slot: Slot = { worker, load: 0 };
        pool.#slots.push(slot);
        readies.push(pool.#ready(slot, readyTimeoutMs, signal));
      }
      await Promise.all(readies);
    } catch (error) {
      await Promise.allSettled(readies);
      await pool.terminate();
      if (signal?.aborted) throw signal.reason;
      throw error instanceof PoolStartError ? error : new PoolStartError((error as Error).message);
    }
    for (const slot of pool.#slots) {
      slot.worker.on('message', (message: R | ReadyMessage) => {
        if ('ready' in message) slot.begun?.(message);
        else pool.#answer(message);
      });
      slot.worker.on('error', (error) => pool.#fail(`a worker thread threw: ${messageOf(error)}`));
      slot.worker.on('exit', (code) => {
        if (!pool.#closing) pool.#fail(`a worker thread ended (exit code ${code}) before its work was done`);
      });
    }
    return pool;
  }

  #ready(slot: Slot, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        slot.worker.off('message', onMessage);
        slot.worker.off('error', onError);
        slot.worker.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onMessage = (message: ReadyMessage) =>
        done(message.ready ? undefined : new PoolStartError(`a worker could not set up: ${message.reason}`));
      const onError = (error: Error) => done(new PoolStartError(`a worker failed to start: ${messageOf(error)}`));
      const onExit = (code: number) => done(new PoolStartError(`a worker ended at start (exit code ${code})`));
      const aborted = () => done(new PoolStartError('interrupted'));
      const timer = setTimeout(
        () => done(new PoolStartError(`a worker was not ready within ${Math.round(timeoutMs / 100) / 10} s`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', aborted, { once: true });
      slot.worker.on('message', onMessage);
      slot.worker.once('error', onError);
      slot.worker.once('exit', onExit);
    });
  }

  /**
   * Tell every worker the next input (its format and options) and wait until each is ready. Rejects with a
   * {@link PoolStartError} when one cannot read it (e.g. a plugin reader it cannot import); the pool stays usable.
   */
  async begin(input: Omit<InputMessage, 'kind'>, timeoutMs: number): Promise<void> {
    if (this.#failure) throw this.#failure;
    const answers = this.#slots.map(
      (slot) =>
        new Promise<ReadyMessage>((resolve, reject) => {
          const timer = setTimeout(() => {
            slot.begun = undefined;
            reject(new PoolStartError(`a worker did not take the input within ${Math.round(timeoutMs / 100) / 10} s`));
          }, timeoutMs);
          slot.begun = (message) => {
            clearTimeout(timer);
            slot.begun = undefined;
            resolve(message);
          };
          slot.worker.postMessage({ kind: 'input', ...input } satisfies InputMessage);
        }),
    );
    const failed = (await Promise.all(answers)).find((answer) => !answer.ready);
    if (failed && !failed.ready) throw new PoolStartError(`a worker cannot read the input: ${failed.reason}`);
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#slots.length;
  }

  /** Convert one batch (its buffers are transferred to the worker). */
  run(batch: BatchMessage): Promise<R> {
    if (this.#failure) return Promise.reject(this.#failure);
    // Fill first: the first worker with fewer than two batches (one running, one waiting) takes it, else the least
    // loaded. A worker that keeps up alone (plain records: the main thread's scan is the slower half) gets them all,
    // so the others do not take the cores the main thread needs; when it falls behind, the next one shares.
    let slot: Slot | undefined;
    for (const candidate of this.#slots) {
      if (candidate.load < 2) {
        slot = candidate;
        break;
      }
    }
    if (!slot) {
      slot = this.#slots[0]!;
      for (const candidate of this.#slots) if (candidate.load < slot.load) slot = candidate;
    }
    slot.load++;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(batch.id, { slot, resolve, reject });
      const transfer: ArrayBuffer[] = [
        batch.buffer,
        batch.starts.buffer as ArrayBuffer,
        batch.ends.buffer as ArrayBuffer,
        batch.places.buffer as ArrayBuffer,
      ];
      if (batch.keep) transfer.push(batch.keep.buffer as ArrayBuffer);
      if (batch.output) transfer.push(batch.output);
      slot.worker.postMessage(batch, transfer);
    });
  }

  #answer(result: R): void {
    const pending = this.#pending.get(result.id);
    if (!pending) return;
    this.#pending.delete(result.id);
    pending.slot.load--;
    pending.resolve(result);
  }

  #fail(reason: string): void {
    if (this.#failure || this.#closing) return;
    this.#failure = new DiagnosticError(
      diagnose(outputRules.workerFailed, { message: `The conversion stopped: ${reason}.`, source: 'writer' }),
    );
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
    for (const slot of this.#slots) slot.begun?.({ ready: false, reason });
  }

  /** Stop every worker (what they were doing is dropped). */
  async terminate(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled(this.#slots.map((slot) => slot.worker.terminate()));
  }
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}
