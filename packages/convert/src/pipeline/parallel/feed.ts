import type { Diagnostic } from '@llavakit/diagnostics';
import { type ElementReader, type RawSink, RecordScanner } from '@llavakit/reader';
import type { BatchMessage } from './protocol.js';

/**
 * Elements read where they are found: an element reader the scanner tries on each element first
 * (`ScannerOptions.elementReader`), and what to keep of each element it takes, made while its bytes are at hand (it
 * goes with the batch as `BatchMessage.known`, and is never posted).
 */
export interface ElementReading {
  readonly reader: ElementReader;
  make(bytes: Buffer, start: number, end: number, index: number): unknown;
  /**
   * Whether the batch keeps the bytes of the elements taken (a validation's places are read from them); when not,
   * they are not copied into it.
   */
  readonly bytes: boolean;
}

/** What runs the batches: a {@link WorkerPool}, or this thread (`size` 1). */
export interface BatchRunner<R> {
  readonly size: number;
  run(batch: BatchMessage): Promise<R>;
  /** For a runner that takes what an element reader made of the elements: the scanner of its batches reads them so. */
  readonly known?: ElementReading;
}

/** A pool whose workers are still starting: its size, and the pool once every worker is ready. */
export interface StartingPool<R extends { readonly id: number }> {
  readonly size: number;
  readonly ready: Promise<BatchRunner<R>>;
}

/** How {@link feedPool} makes batches. */
export interface FeedOptions {
  readonly batchBytes?: number;
  readonly inFlightPerWorker?: number;
  /**
   * The answers' `out` buffers are free once `replay` resolved (the output copied them): hand them back with later
   * batches for the workers to write into.
   */
  readonly recycleOutput?: boolean;
}

/** What {@link feedPool} needs of an input. */
export interface FeedJob {
  readonly file: string;
  readonly keepRecord?: (index: number) => boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number, records: number, totalBytes?: number) => void;
}

/**
 * Scan the input here (the reader's raw mode: element bytes and places, no parsing), send each chunk's elements to
 * the pool as one batch (their bytes copied into a buffer that is transferred, then handed back with the answer and
 * reused), at most `inFlightPerWorker` batches per worker at a time, and give the answers to `replay` in input order.
 * A fatal scan error is thrown once every element before it was replayed, as the in-process reader throws it.
 */
export async function feedPool<
  R extends { readonly id: number; readonly input: ArrayBuffer; readonly out?: Uint8Array },
>(
  job: FeedJob,
  opened: { chunks: AsyncIterable<Buffer>; totalBytes?: number },
  pool: BatchRunner<R> | StartingPool<R>,
  options: FeedOptions,
  replay: (result: R) => Promise<void>,
): Promise<void> {
  const { signal, keepRecord } = job;
  const batchBytes = options.batchBytes ?? 2 * 1024 * 1024;
  const limit = Math.max(1, pool.size * (options.inFlightPerWorker ?? 2));
  // A pool still starting takes the batches once it is ready (in order); the first answer waits for it, so nothing
  // is replayed when it cannot start (its PoolStartError is thrown instead).
  let ready: BatchRunner<R> | undefined = 'ready' in pool ? undefined : pool;
  const starting = 'ready' in pool ? pool.ready.then((started) => (ready = started)) : undefined;
  starting?.catch(() => undefined);
  const known = 'ready' in pool ? undefined : pool.known;
  const scanner = new RecordScanner({
    file: job.file,
    raw: true,
    ...(known ? { elementReader: known.reader } : {}),
  });
  const inFlight: Promise<R>[] = [];
  let nextId = 0;
  let elements = 0;
  let bytesRead = 0;
  // Input buffers cycle: each comes back with its batch's answer (no allocation per batch, memory stays flat).
  const free: ArrayBuffer[] = [];
  const fresh = () => new Uint8Array(free.pop() ?? new ArrayBuffer(batchBytes));
  const outputs: ArrayBuffer[] = [];
  // the batch being filled
  let buffer = fresh();
  let used = 0;
  let starts: number[] = [];
  let ends: number[] = [];
  let places: number[] = [];
  let keep: number[] | undefined;
  let rejects: { k: number; diagnostic: Diagnostic; length: number }[] | undefined;
  let kept: unknown[] | undefined;
  // Elements found inside the chunk being scanned are copied into the batch together, in one copy of the bytes from
  // the first one's start to the last one's end (separators included): `span` is that range of the chunk, and the
  // batch offsets of its elements are `spanAt` + their offsets in the chunk, fixed once it is copied.
  let chunk: Buffer | undefined;
  let spanStart = -1;
  let spanEnd = 0;
  let spanFirst = 0;

  const copySpan = () => {
    if (spanStart < 0) return;
    chunk!.copy(buffer, used, spanStart, spanEnd);
    for (let k = spanFirst; k < ends.length; k++) {
      starts[k] = starts[k]! - spanStart + used;
      ends[k] = ends[k]! - spanStart + used;
    }
    used += spanEnd - spanStart;
    spanStart = -1;
  };

  const dispatch = () => {
    copySpan();
    if (ends.length === 0) return;
    const message: BatchMessage = {
      kind: 'batch',
      id: nextId++,
      buffer: buffer.buffer as ArrayBuffer,
      starts: Int32Array.from(starts),
      ends: Int32Array.from(ends),
      places: Float64Array.from(places),
      keep: keep ? Uint8Array.from(keep) : undefined,
      output: outputs.pop(),
      rejected: rejects,
      known: kept,
    };
    const result = ready ? ready.run(message) : starting!.then((started) => started.run(message));
    result.catch(() => undefined); // awaited in order below
    inFlight.push(result);
    buffer = fresh();
    used = 0;
    starts = [];
    ends = [];
    places = [];
    keep = undefined;
    rejects = undefined;
    kept = undefined;
  };

  // Each element's place is noted as the scanner finds it (no object per element); its bytes are copied with the
  // others of its chunk, or at once when the scanner joined them from several chunks.
  const add: RawSink = (bytes, start, end, index, offset, line, column, rejected, taken) => {
    const length = end - start;
    const pending = spanStart < 0 ? 0 : end - spanStart;
    const made = taken && known !== undefined;
    if (made && !known.bytes) {
      // (what it needs is made from the chunk below: none of its bytes go into the batch)
      copySpan();
      starts.push(used);
      ends.push(used);
    } else {
      if (ends.length > 0 && used + (bytes === chunk ? pending || length : length) > buffer.length) dispatch();
      if (bytes === chunk && length <= buffer.length) {
        if (spanStart < 0) {
          spanStart = start;
          spanFirst = ends.length;
        }
        spanEnd = end;
        starts.push(start);
        ends.push(end);
      } else {
        copySpan();
        if (length > buffer.length) buffer = new Uint8Array(length); // one large element: its own buffer
        bytes.copy(buffer, used, start, end);
        starts.push(used);
        used += length;
        ends.push(used);
      }
    }
    if (rejected)
      (rejects ??= []).push({ k: ends.length - 1, diagnostic: rejected.diagnostic, length: rejected.length });
    if (made) (kept ??= [])[ends.length - 1] = known.make(bytes, start, end, index);
    places.push(index, offset, line, column);
    if (keepRecord) {
      keep ??= new Array<number>(ends.length - 1).fill(1);
      keep.push(keepRecord(index) ? 1 : 0);
    } else if (keep) keep.push(1);
    elements++;
  };

  const settle = async (): Promise<void> => {
    const next = inFlight.shift()!;
    const result = signal ? await orAbort(next, signal) : await next;
    await replay(result);
    if (result.input.byteLength === batchBytes && free.length < limit + 1) free.push(result.input);
    const out = result.out?.buffer as ArrayBuffer | undefined;
    if (options.recycleOutput && out && out.byteLength <= 4 * batchBytes && outputs.length < limit + 1)
      outputs.push(out);
  };

  for await (const read of opened.chunks) {
    signal?.throwIfAborted();
    bytesRead += read.length;
    chunk = read;
    scanner.pushTo(read, add);
    // Each chunk's elements go out at once (a slow stream's records do not wait for a full batch).
    dispatch();
    job.onProgress?.(bytesRead, elements, opened.totalBytes);
    while (inFlight.length >= limit) await settle();
    if (scanner.error) break;
  }
  chunk = undefined;
  if (!scanner.error) {
    signal?.throwIfAborted();
    scanner.endTo(add);
  }
  dispatch();
  while (inFlight.length > 0) await settle();
  if (scanner.error) throw scanner.error;
}

/**
 * `promise`, or the signal's reason once aborted (a worker stuck in a plugin does not hold up an interruption). The
 * listener is removed when the promise settles: nothing accumulates on a long-lived signal.
 */
function orAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
