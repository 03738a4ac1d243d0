/**
 * A small pool of worker threads that read and sniff found image files in batches (see `sniff-batch.ts`), so the
 * blocking open/read/close calls run beside the thread that parses records. Internal; used by `checkImages`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type SniffBatch, sniffFiles } from './sniff-batch.js';

/** Files per message to a worker. */
const BATCH = 512;
/** Batches queued per worker before {@link SniffPool.add} asks the caller to wait. */
const QUEUED_PER_WORKER = 16;

interface Sent<T> {
  readonly tokens: T[];
  readonly paths: string[];
  readonly slot: Slot;
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
  const url = new URL('./sniff-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Batches file paths to worker threads and hands each file's result to `onResult` with the token it was added
 * with. A worker that fails is replaced by in-thread reads of its batches, so every added file gets its result.
 */
export class SniffPool<T> {
  private readonly slots: Slot[] = [];
  private readonly sent = new Map<number, Sent<T>>();
  private paths: string[] = [];
  private tokens: T[] = [];
  private nextId = 0;
  private waiters: { readonly limit: number; readonly resolve: () => void }[] = [];
  private failure: unknown;

  private constructor(
    script: URL,
    count: number,
    private readonly onResult: (token: T, batch: SniffBatch, index: number) => void,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(script);
      const slot: Slot = { worker, queued: 0, dead: false };
      worker.on('message', (message: { id: number; batch: SniffBatch }) => this.receive(message.id, message.batch));
      worker.on('error', () => this.fail(slot));
      worker.on('exit', () => this.fail(slot));
      this.slots.push(slot);
    }
  }

  /** A pool of `count` workers, or `undefined` when worker threads cannot be used here. */
  static create<T>(
    count: number,
    onResult: (token: T, batch: SniffBatch, index: number) => void,
  ): SniffPool<T> | undefined {
    const script = count > 0 ? workerScript() : undefined;
    return script ? new SniffPool(script, count, onResult) : undefined;
  }

  /** Queue one file. Returns a promise when enough work is queued that the caller should wait before adding more. */
  add(path: string, token: T): Promise<void> | undefined {
    this.paths.push(path);
    this.tokens.push(token);
    if (this.paths.length >= BATCH) this.flush();
    return this.sent.size >= QUEUED_PER_WORKER * this.live() ? this.below(QUEUED_PER_WORKER * this.live()) : undefined;
  }

  /** Send the files queued so far. */
  flush(): void {
    if (this.paths.length === 0) return;
    const paths = this.paths;
    const tokens = this.tokens;
    this.paths = [];
    this.tokens = [];
    const slot = this.pick();
    if (!slot) {
      this.deliver(tokens, sniffFiles(paths));
      return;
    }
    const id = this.nextId++;
    slot.queued++;
    this.sent.set(id, { tokens, paths, slot });
    slot.worker.postMessage({ id, paths: paths.join('\0') });
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
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
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

  private receive(id: number, batch: SniffBatch): void {
    const sent = this.sent.get(id);
    if (!sent) return;
    this.sent.delete(id);
    sent.slot.queued--;
    this.deliver(sent.tokens, batch);
  }

  private deliver(tokens: readonly T[], batch: SniffBatch): void {
    try {
      for (let i = 0; i < tokens.length; i++) this.onResult(tokens[i]!, batch, i);
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

  /** A worker died: read its batches here. */
  private fail(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    for (const [id, sent] of this.sent) {
      if (sent.slot !== slot) continue;
      this.sent.delete(id);
      this.deliver(sent.tokens, sniffFiles(sent.paths));
    }
  }
}
