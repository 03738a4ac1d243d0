/**
 * Plain records converted where they are read. For a conversion with a plain encoder (`plain-encoders.ts`), the
 * scanner of the main thread reads each plain record itself (its element reader: `ScannerOptions.elementReader`) and
 * the encoder writes its output there and then, from the chunk: the record is gone through once, and never copied,
 * posted, re-read or answered. Only the other records (not plain, or not certainly) go to the workers, as a smaller
 * batch; their answer is merged back in input order, so the replay (`run.ts`) sees one answer per chunk, as before.
 *
 * The plain records of LLaVA's files are nearly all of them: the main thread then does the whole conversion in one
 * pass, while the workers take the rest and the output is written by libuv's threads.
 */
import type { Diagnostic } from '@llavakit/diagnostics';
import type { BatchRunner, ElementReading, StartingPool } from './feed.js';
import { PlainReader } from './plain.js';
import { type PlainEncoder, type PlainOutput, plainOutputBound } from './plain-encoders.js';
import { type BatchMessage, type BatchResult, type RecordEvent, SKIPPED, UNREAD, WRITTEN } from './protocol.js';

type Runner = BatchRunner<BatchResult>;

/**
 * What the main thread made of a batch's plain records, by slot (the number `make` returns, kept as the element's
 * `known`): where each one's output is in `out`, and which events its encoder counted (bit `i`: `events[i]`).
 * Numbers in typed arrays: nothing is allocated per record.
 */
interface Made {
  readonly out: Buffer;
  readonly used: number;
  readonly at: Int32Array;
  readonly length: Int32Array;
  readonly counted: Int32Array;
  readonly events: readonly string[];
}

/**
 * The plain-record side of a conversion: a runner for `feedPool` that wraps the worker pool, whose scanner reads
 * plain records with its element reader (`known`: the encoding of each record it takes), answers each batch's plain
 * records here and sends the others to the pool.
 */
export function plainConversion(
  encoder: PlainEncoder,
  separator: string,
  pool: Runner | StartingPool<BatchResult>,
): Runner {
  const reader = new PlainReader();
  const sep = Buffer.from(separator);
  // The outputs of the batch being filled, joined by the separator.
  let out: Buffer<ArrayBufferLike> = Buffer.allocUnsafeSlow(1 << 20);
  let used = 0;
  let written = 0;
  // per slot of the batch being filled
  let at = new Int32Array(1024);
  let length = new Int32Array(1024);
  let counted = new Int32Array(1024);
  // the events counted so far, by bit (an encoder counts a few kinds)
  const events: string[] = [];
  let mask = 0;
  const count = (event: string) => {
    let bit = events.indexOf(event);
    if (bit < 0) {
      if (events.length === 31) throw new Error(`a plain encoder counts more than 31 kinds of events (${event})`);
      bit = events.push(event) - 1;
    }
    mask |= 1 << bit;
  };
  const target: PlainOutput = { buffer: out, used: 0 };
  const grow = () => {
    const n = at.length * 2;
    const more = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    at = more(at);
    length = more(length);
    counted = more(counted);
  };

  const known: ElementReading = {
    reader,
    // (a record's output is made from the chunk: its bytes are not kept)
    bytes: false,
    make(bytes, start, end): number {
      const need = plainOutputBound(end - start, reader.turns) + sep.length;
      if (used + need > out.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(out.length * 2, used + need));
        out.copy(grown, 0, 0, used);
        out = grown;
      }
      const slot = written++;
      if (slot > 0) {
        sep.copy(out, used);
        used += sep.length;
      }
      if (slot === at.length) grow();
      target.buffer = out;
      target.used = used;
      mask = 0;
      encoder(reader, bytes, target, count);
      at[slot] = used;
      length[slot] = target.used - used;
      counted[slot] = mask;
      used = target.used;
      return slot;
    },
  };

  // Buffers free again: a batch's outputs once merged with the workers' (memory stays flat, no block per batch).
  const spare: Buffer[] = [];
  const buffers: Buffers = {
    get(bytes) {
      const found = spare.findIndex((b) => b.length >= bytes);
      return found >= 0 ? spare.splice(found, 1)[0]! : Buffer.allocUnsafeSlow(Math.max(1 << 20, bytes));
    },
    release(buffer) {
      if (spare.length < 4) spare.push(buffer);
    },
  };

  /** The outputs made for the batch just dispatched; the next batch's go into `next` when it is large enough. */
  const take = (next: ArrayBuffer | undefined): Made => {
    const mine: Made = { out, used, at, length, counted, events };
    const size = Math.max(1024, written);
    at = new Int32Array(size);
    length = new Int32Array(size);
    counted = new Int32Array(size);
    out = next && next.byteLength >= out.length ? Buffer.from(next) : buffers.get(out.length);
    used = 0;
    written = 0;
    return mine;
  };

  // The first answer waits for the workers, as without this (nothing is replayed when they cannot start).
  const ready: Promise<Runner> = 'ready' in pool ? pool.ready : Promise.resolve(pool);
  ready.catch(() => undefined);
  return {
    size: pool.size,
    known,
    run(batch) {
      // (called as the batch is dispatched: the outputs made so far are this batch's)
      const mine = take(batch.output);
      const made = batch.known;
      const n = batch.ends.length;
      const others: number[] = [];
      for (let k = 0; k < n; k++) if (made?.[k] === undefined) others.push(k);
      if (others.length === 0) {
        const result = merge(batch, mine, others, undefined, sep, buffers);
        return ready.then(() => result);
      }
      const sub = subBatch(batch, others);
      return ready
        .then((started) => started.run(sub))
        .then((answer) => merge(batch, mine, others, answer, sep, buffers));
    },
  };
}

/** The batch of the records that are not plain (their bytes stay in the same buffer, which moves to the worker). */
function subBatch(batch: BatchMessage, others: readonly number[]): BatchMessage {
  const m = others.length;
  const starts = new Int32Array(m);
  const ends = new Int32Array(m);
  const places = new Float64Array(m * 4);
  const keep = batch.keep ? new Uint8Array(m) : undefined;
  let rejected: { k: number; diagnostic: Diagnostic; length: number }[] | undefined;
  for (let j = 0; j < m; j++) {
    const k = others[j]!;
    starts[j] = batch.starts[k]!;
    ends[j] = batch.ends[k]!;
    places.set(batch.places.subarray(k * 4, k * 4 + 4), j * 4);
    if (keep) keep[j] = batch.keep![k]!;
    const r = batch.rejected?.find((x) => x.k === k);
    if (r) (rejected ??= []).push({ k: j, diagnostic: r.diagnostic, length: r.length });
  }
  return { kind: 'batch', id: batch.id, buffer: batch.buffer, starts, ends, places, keep, rejected };
}

/** Output buffers that cycle: `get` one of at least `bytes`, `release` one whose contents were copied out. */
interface Buffers {
  get(bytes: number): Buffer;
  release(buffer: Buffer): void;
}

/**
 * One answer for the whole batch: the plain records' outputs and the worker's `answer` for the `others`, in input
 * order. When every record is plain and written, the outputs as made are the answer's; else they are copied into one
 * joined output, and `mine`'s buffer is released.
 */
function merge(
  batch: BatchMessage,
  mine: Made,
  others: readonly number[],
  answer: BatchResult | undefined,
  sep: Buffer,
  buffers: Buffers,
): BatchResult {
  const n = batch.ends.length;
  const status = new Uint8Array(n);
  const lengths = new Int32Array(n);
  const events: RecordEvent[] = [];
  const counts = countsOf(events);
  // the worker's events, by its element
  let e = 0;
  let size = 0;
  let written = 0;
  let stopped = false;
  let j = 0;
  // where each written record's output is: -1 - its slot here, or its index in the worker's answer
  const from = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    if (stopped) {
      status[k] = UNREAD;
      if (others[j] === k) j++;
      continue;
    }
    if (answer && others[j] === k) {
      // a record the worker read: its events (after the counts before it), its status
      if (e < answer.events.length && answer.events[e]!.k === j) counts.flush();
      while (e < answer.events.length && answer.events[e]!.k === j) {
        const event = answer.events[e++]!;
        events.push({ ...event, k });
        if (event.kind === 'fatal') stopped = true;
      }
      const s = answer.status[j]!;
      status[k] = s;
      if (s === WRITTEN) {
        lengths[k] = answer.lengths[j]!;
        from[k] = j;
        size += lengths[k]!;
        written++;
      } else if (s === UNREAD) stopped = true;
      j++;
      continue;
    }
    if (batch.keep && batch.keep[k] === 0) {
      status[k] = SKIPPED;
      continue;
    }
    const slot = batch.known![k] as number;
    status[k] = WRITTEN;
    lengths[k] = mine.length[slot]!;
    from[k] = -1 - slot;
    size += lengths[k]!;
    written++;
    counts.add(k, mine, slot);
  }
  counts.flush();
  const input = answer?.input ?? batch.buffer;
  if (!answer && written === n)
    return { id: batch.id, out: mine.out.subarray(0, mine.used), input, status, lengths, events };
  // the outputs, joined by the separator: the worker's in its order in its `out`
  const out = buffers.get(size + Math.max(0, written - 1) * sep.length);
  const theirs = answer && Buffer.from(answer.out.buffer, answer.out.byteOffset, answer.out.byteLength);
  let at = 0;
  let their = 0;
  for (let k = 0; k < n; k++) {
    if (status[k] !== WRITTEN) continue;
    if (at > 0) at += sep.copy(out, at);
    const source = from[k]!;
    if (source >= 0) {
      at += theirs!.copy(out, at, their, their + lengths[k]!);
      their += lengths[k]! + sep.length;
    } else {
      const slot = -1 - source;
      at += mine.out.copy(out, at, mine.at[slot]!, mine.at[slot]! + mine.length[slot]!);
    }
  }
  buffers.release(mine.out);
  return { id: batch.id, out: out.subarray(0, at), input, status, lengths, events };
}

/**
 * Counts of plain records, summed as the workers sum theirs (`worker.ts`): sent as one event per kind before the next
 * other event, at the last record that counted.
 */
function countsOf(events: RecordEvent[]) {
  const counted = new Map<string, number>();
  let at = 0;
  return {
    add(k: number, mine: Made, slot: number) {
      let mask = mine.counted[slot]!;
      if (mask === 0) return;
      for (let bit = 0; mask !== 0; bit++, mask >>>= 1) {
        if ((mask & 1) === 0) continue;
        const name = mine.events[bit]!;
        counted.set(name, (counted.get(name) ?? 0) + 1);
      }
      at = k;
    },
    flush() {
      for (const [event, by] of counted) events.push({ k: at, kind: 'count', event, by });
      counted.clear();
    },
  };
}
