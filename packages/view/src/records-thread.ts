import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/format';
import { workerExecArgv } from './exec-argv.js';
import type { DatasetFile } from './model.js';
import type { ParquetRecord } from './parquet.js';

/**
 * The heap of the records thread. Each page of a Parquet table decodes a row group (1,000 rows of mix665k: several
 * MiB of objects and strings) that lives on in the row-group cache and is promoted, and the token count reads every
 * record again; in the main thread that garbage took the heap to ~190 MiB (the live heap was 29 MiB) before V8
 * collected it. A bounded old generation makes it collect early. Its live heap (modules, the counter's memory of
 * pieces, the cached groups) is ~40–50 MiB: a 64 MiB old generation made pages of mix665k 2–4× slower (collections
 * all the time); the young generation is kept big enough that a decoded group mostly dies young. A thread that needs
 * more dies out of memory: what it was asked is then done in the calling thread.
 */
export const RECORDS_RESOURCE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 32 };

/** What the records thread is given (`workerData`). */
export interface RecordsSetup {
  /** The files of the index, by number (Parquet files are read by row group; every file is read to count tokens). */
  readonly files: readonly DatasetFile[];
  readonly parquetSliceBytes?: number;
}

/** One record to read: file number, row group, row in the group, its number in its input. */
export type ReadPlace = readonly [file: number, group: number, row: number, index: number];

/** A record as it crosses the thread: no parsed record (it is the parse of `text`), embedded bytes copied out. */
export interface SentRecord {
  readonly text: string;
  readonly invalid?: ParquetRecord['invalid'];
  readonly embedded?: ReadonlyMap<string, Uint8Array>;
}

/** Messages to the records thread. */
export type RecordsRequest =
  | { readonly type: 'read'; readonly id: number; readonly reads: readonly ReadPlace[] }
  /** The tokens of some records' JSON texts (records shown before the count reached them). */
  | { readonly type: 'tokens-of'; readonly id: number; readonly texts: readonly string[] }
  /** Count every record's tokens; `busy[0]` is 1 while the caller answers a request (the count then waits). */
  | { readonly type: 'count'; readonly busy: Int32Array };

/** Messages from the records thread. */
export type RecordsAnswer =
  | { readonly type: 'read'; readonly id: number; readonly ok: true; readonly records: readonly SentRecord[] }
  | {
      readonly type: 'read';
      readonly id: number;
      readonly ok: false;
      readonly diagnostic?: Diagnostic;
      readonly message: string;
    }
  | { readonly type: 'tokens-of'; readonly id: number; readonly counts: readonly number[] }
  /** `counts[k]`: the tokens of global record `from + k`. */
  | { readonly type: 'tokens'; readonly from: number; readonly counts: Uint32Array }
  | { readonly type: 'counted' };

function defaultScript(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./records-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * The record of a sent one: the canonical record is the parse of its JSON text, parsed when first asked for (a page
 * of the table needs only the texts).
 */
export function receivedRecord(sent: SentRecord): ParquetRecord {
  if (sent.invalid) return { text: sent.text, invalid: sent.invalid };
  let record: LlavaRecord | undefined;
  return {
    text: sent.text,
    get record() {
      record ??= JSON.parse(sent.text) as LlavaRecord;
      return record;
    },
    ...(sent.embedded ? { embedded: sent.embedded } : {}),
  };
}

interface Waiting {
  readonly reads: readonly ReadPlace[];
  readonly resolve: (records: ParquetRecord[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Counting {
  readonly onTokens: (from: number, counts: Uint32Array) => void;
  readonly done: (ok: boolean) => void;
}

/** How often the caller's `busy()` is copied to the shared flag the count waits on, in milliseconds. */
const BUSY_POLL_MS = 2;

/**
 * A worker thread with a bounded heap ({@link RECORDS_RESOURCE_LIMITS}) that reads the records of an index's
 * Parquet files (it keeps the decoded row groups: the row-group cache of `ParquetRecords`, there) and counts every
 * record's tokens with the default metrics, so that neither decoded row groups nor the count's garbage sit in the
 * server's heap. Started on the first use. A thread that dies (out of memory) answers nothing more: its reads, and
 * every later one, go to `fallback` (this thread), and a count it was doing says so (`false`).
 */
export class RecordsThread {
  private worker: Worker | undefined;
  private dead = false;
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private counting: Counting | undefined;
  private readonly countingOf = new Map<number, (counts: readonly number[] | undefined) => void>();

  constructor(
    private readonly setup: RecordsSetup,
    private readonly fallback: (reads: readonly ReadPlace[]) => Promise<ParquetRecord[]>,
    private readonly script: URL | undefined = defaultScript(),
    private readonly resourceLimits: ResourceLimits = RECORDS_RESOURCE_LIMITS,
  ) {}

  /** True when the thread can be used (a built worker script exists, and it has not failed). */
  get usable(): boolean {
    return !this.dead && this.script !== undefined;
  }

  /** Read Parquet records, in order (one message for all). Rejects as `ParquetRecords.read` does. */
  read(reads: readonly ReadPlace[]): Promise<ParquetRecord[]> {
    const worker = this.start();
    if (!worker) return this.fallback(reads);
    const id = this.nextId++;
    return new Promise<ParquetRecord[]>((resolve, reject) => {
      this.waiting.set(id, { reads, resolve, reject });
      this.hold();
      worker.postMessage({ type: 'read', id, reads } satisfies RecordsRequest);
    });
  }

  /**
   * The text tokens (the default metrics) of records' JSON texts, counted in the thread, whose memory of pieces the
   * background count keeps warm (a cold counter takes ~70 ms for a page of mix665k, a warm one ~1 ms). `undefined`
   * when the thread cannot run or failed.
   */
  tokensOf(texts: readonly string[]): Promise<readonly number[] | undefined> {
    const worker = this.start();
    if (!worker) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.countingOf.set(id, resolve);
      this.hold();
      worker.postMessage({ type: 'tokens-of', id, texts } satisfies RecordsRequest);
    });
  }

  /**
   * Count the text tokens of every record of every file (the default metrics), handing each batch to `onTokens` as
   * it comes and waiting while `busy()` says a request is being answered (as the count in the calling thread does).
   * True when every file was counted; false when the thread cannot run, failed, or `signal` stopped it.
   */
  count(
    onTokens: (from: number, counts: Uint32Array) => void,
    busy?: () => boolean,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const worker = this.start();
    if (!worker || signal?.aborted || this.counting) return Promise.resolve(false);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const poll = busy
      ? setInterval(() => {
          Atomics.store(flag, 0, busy() ? 1 : 0);
        }, BUSY_POLL_MS)
      : undefined;
    poll?.unref();
    return new Promise<boolean>((resolve) => {
      const abort = () => {
        // the thread goes on reading records; only the count stops (a new thread would count from the start)
        this.counting = undefined;
        void this.close();
        finish(false);
      };
      const finish = (ok: boolean) => {
        clearInterval(poll);
        signal?.removeEventListener('abort', abort);
        this.counting = undefined;
        this.release();
        resolve(ok);
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.counting = { onTokens, done: finish };
      this.hold();
      worker.postMessage({ type: 'count', busy: flag } satisfies RecordsRequest);
    });
  }

  private hold(): void {
    this.worker?.ref();
  }

  private release(): void {
    if (this.waiting.size === 0 && this.countingOf.size === 0 && !this.counting) this.worker?.unref();
  }

  private start(): Worker | undefined {
    if (this.worker || !this.usable) return this.worker;
    const worker = new Worker(this.script!, {
      workerData: this.setup,
      resourceLimits: this.resourceLimits,
      execArgv: workerExecArgv(),
    });
    worker.unref();
    worker.on('message', (answer: RecordsAnswer) => {
      if (answer.type === 'tokens') this.counting?.onTokens(answer.from, answer.counts);
      else if (answer.type === 'counted') this.counting?.done(true);
      else if (answer.type === 'tokens-of') {
        const resolve = this.countingOf.get(answer.id);
        this.countingOf.delete(answer.id);
        this.release();
        resolve?.(answer.counts);
      } else {
        const waiting = this.waiting.get(answer.id);
        if (!waiting) return;
        this.waiting.delete(answer.id);
        this.release();
        if (answer.ok) waiting.resolve(answer.records.map(receivedRecord));
        else waiting.reject(answer.diagnostic ? new DiagnosticError(answer.diagnostic) : new Error(answer.message));
      }
    });
    const fail = () => {
      if (this.worker !== worker) return;
      this.dead = true;
      this.worker = undefined;
      // what was asked of the thread is done here instead
      const left = [...this.waiting.values()];
      this.waiting.clear();
      for (const w of left) this.fallback(w.reads).then(w.resolve, w.reject);
      this.dropCounts();
      this.counting?.done(false);
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }

  /** Stop the thread (reads waiting for it are read here; a later use starts a new one). */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const left = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of left) this.fallback(w.reads).then(w.resolve, w.reject);
    this.dropCounts();
    this.counting?.done(false);
    await worker.terminate();
  }

  private dropCounts(): void {
    const left = [...this.countingOf.values()];
    this.countingOf.clear();
    for (const resolve of left) resolve(undefined);
  }
}
