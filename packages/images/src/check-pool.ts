/**
 * A small pool of worker threads that check distinct image refs in batches (see `check-batch.ts`): each worker has
 * its own resolver over the same folder sources, lists the folders, resolves, reads and sniffs, so all of that runs
 * beside the thread that parses records. Internal; used by `checkImages`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Diagnostic } from '@llavakit/diagnostics';
import { type CheckBatch, checkBatch } from './check-batch.js';
import type { ImageResolver, ImageResolverOptions } from './resolver-types.js';
import type { ImageSource } from './sources.js';

/** Refs per message to a worker. */
const BATCH = 512;
/** Batches queued per worker before {@link SniffPool.add} asks the caller to wait. */
const QUEUED_PER_WORKER = 16;

interface Sent<T> {
  readonly tokens: T[];
  readonly refs: string[];
  /** The worker it went to; undefined when checked in this thread. */
  readonly slot: Slot | undefined;
}

interface Slot {
  readonly worker: Worker;
  queued: number;
  dead: boolean;
}

/**
 * The worker script, or `undefined` when this module runs from TypeScript sources (tests): Node cannot start a
 * `.ts` worker, so the caller reads in-thread instead.
 */
function workerScript(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./check-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** What a worker needs to build its own resolver. */
export interface WorkerSetup {
  readonly sources: readonly ImageSource[];
  readonly options: ImageResolverOptions;
}

/**
 * Batches refs to worker threads and hands each batch's results to `onBatch` with the tokens they were added with. A
 * worker that fails is replaced by in-thread checks of its batches (with `fallback`), so every ref gets its result.
 */
export class CheckPool<T> {
  private readonly slots: Slot[] = [];
  private readonly sent = new Map<number, Sent<T>>();
  private refs: string[] = [];
  private tokens: T[] = [];
  private nextId = 0;
  private waiters: { readonly limit: number; readonly resolve: () => void }[] = [];
  private failure: unknown;
  private sources: Promise<Diagnostic[]> | undefined;
  /** Settles {@link sources}: the worker's diagnostics, or null to check in this thread. */
  private sourcesAnswered: (answer: Diagnostic[] | null) => void = () => {};

  private constructor(
    script: URL,
    count: number,
    setup: WorkerSetup,
    private readonly fallback: ImageResolver,
    private readonly onBatch: (tokens: readonly T[], batch: CheckBatch) => void,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(script, { workerData: setup });
      const slot: Slot = { worker, queued: 0, dead: false };
      worker.on('message', (message: { id: number; batch: CheckBatch } | { sources: Diagnostic[] | null }) => {
        if ('sources' in message) this.sourcesAnswered(message.sources);
        else this.receive(message.id, message.batch);
      });
      worker.on('error', () => this.fail(slot));
      worker.on('exit', () => this.fail(slot));
      this.slots.push(slot);
    }
  }

  /** A pool of `count` workers, or `undefined` when worker threads cannot be used here. */
  static create<T>(
    count: number,
    setup: WorkerSetup,
    fallback: ImageResolver,
    onBatch: (tokens: readonly T[], batch: CheckBatch) => void,
  ): CheckPool<T> | undefined {
    const script = count > 0 ? workerScript() : undefined;
    return script ? new CheckPool(script, count, setup, fallback, onBatch) : undefined;
  }

  /** Queue one ref. Returns a promise when enough work is queued that the caller should wait before adding more. */
  add(ref: string, token: T): Promise<void> | undefined {
    this.refs.push(ref);
    this.tokens.push(token);
    if (this.refs.length >= BATCH) this.flush();
    return this.sent.size >= QUEUED_PER_WORKER * this.live() ? this.below(QUEUED_PER_WORKER * this.live()) : undefined;
  }

  /** Send the refs queued so far. */
  flush(): void {
    if (this.refs.length === 0) return;
    const refs = this.refs;
    const tokens = this.tokens;
    this.refs = [];
    this.tokens = [];
    const id = this.nextId++;
    const slot = this.pick();
    if (!slot) {
      this.inThread(id, { tokens, refs, slot: undefined });
      return;
    }
    slot.queued++;
    this.sent.set(id, { tokens, refs, slot });
    slot.worker.postMessage({ id, refs });
  }

  /**
   * The sources' own problems (`ImageResolver.checkSources`), checked by the first worker (which opens the zip
   * archives anyway); in this thread with `fallback` when the worker cannot answer.
   */
  checkSources(): Promise<Diagnostic[]> {
    if (!this.sources) {
      const slot = this.slots.find((s) => !s.dead);
      this.sources = new Promise<Diagnostic[] | null>((resolve) => {
        this.sourcesAnswered = resolve;
        if (slot) slot.worker.postMessage({ sources: true });
        else resolve(null);
      }).then((answer) => answer ?? this.fallback.checkSources());
    }
    return this.sources;
  }

  /** Send what is queued and wait for every result. */
  async drain(): Promise<void> {
    this.flush();
    while (this.sent.size > 0) await this.below(1);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const slot of slots) slot.dead = true;
    // Ask each worker to close its resolver (zip archives hold file descriptors of the process) and exit; stop it
    // the hard way if it does not within a second (e.g. busy with a batch).
    await Promise.all(
      slots.map(async (slot) => {
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        slot.worker.postMessage({ close: true });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), 1000);
        });
        if ((await Promise.race([exited, late])) === 'late') await slot.worker.terminate();
        clearTimeout(timer);
      }),
    );
  }

  private live(): number {
    let n = 0;
    for (const slot of this.slots) if (!slot.dead) n++;
    return Math.max(1, n);
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) if (!slot.dead && (!best || slot.queued < best.queued)) best = slot;
    return best;
  }

  /** Resolves once fewer than `limit` batches are out. */
  private below(limit: number): Promise<void> {
    if (this.sent.size < limit) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ limit, resolve }));
  }

  private receive(id: number, batch: CheckBatch): void {
    const sent = this.sent.get(id);
    if (!sent || sent.slot?.dead) return;
    this.sent.delete(id);
    sent.slot!.queued--;
    this.deliver(sent.tokens, batch);
  }

  /** Check a batch in this thread (no live worker); it counts as out until done. */
  private inThread(id: number, sent: Sent<T>): void {
    this.sent.set(id, sent);
    checkBatch(this.fallback, sent.refs).then(
      (batch) => {
        this.sent.delete(id);
        this.deliver(sent.tokens, batch);
      },
      (error: unknown) => {
        this.failure ??= error;
        this.sent.delete(id);
        this.deliver([], { values: new Float64Array(0), problems: [] });
      },
    );
  }

  private deliver(tokens: readonly T[], batch: CheckBatch): void {
    try {
      if (tokens.length > 0) this.onBatch(tokens, batch);
    } catch (error) {
      this.failure ??= error;
    }
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (this.sent.size < waiter.limit) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  /** A worker died: check its batches here. */
  private fail(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    this.sourcesAnswered(null);
    for (const [id, sent] of [...this.sent]) {
      if (sent.slot === slot) this.inThread(id, { ...sent, slot: undefined });
    }
  }
}
