import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { DiagnosticError } from '@llavakit/diagnostics';
import { openParquetFile, type ParquetFile } from '@llavakit/format-parquet';
import { readRecordBatches } from '@llavakit/reader';
import type { DatasetIndex } from './dataset.js';
import { isLlamaMetrics, type RecordMetrics } from './metrics.js';
import { clamp32, type DatasetFile, NO_TOKENS } from './model.js';
import { sliceOption } from './parquet.js';

/** Let page requests have the event loop: one turn, then wait while a request is being answered. */
async function yieldToRequests(signal?: AbortSignal, busy?: () => boolean): Promise<void> {
  await turn();
  // while a request is answered, counting waits (a request awaits many reads; each would let a batch in)
  while (busy?.() && !signal?.aborted) await sleep(2);
}

/** Token counts of consecutive records: `counts[k]` is the count of global record `from + k` (`NO_TOKENS`: skipped). */
export interface TokenBatch {
  readonly from: number;
  readonly counts: Uint32Array;
}

/** How {@link fileTokens} reads a file and which records it may leave out. */
export interface FileTokensOptions {
  readonly metrics: RecordMetrics;
  /** The record a parsed JSON value stands for (a `decode`); `undefined` when it does not decode. */
  readonly decoded?: (value: unknown, index: number) => unknown;
  /** Open a Parquet file of the dataset (the index's opened files, else a fresh open). */
  readonly parquet?: () => Promise<ParquetFile>;
  /** Records already counted (left as `NO_TOKENS` in the batches, and whole row groups of them not read). */
  readonly skip?: (n: number) => boolean;
  readonly signal?: AbortSignal;
  readonly parquetSliceBytes?: number;
  /** Parquet rows per batch (default 256). */
  readonly batchRows?: number;
}

/**
 * The text tokens of every record of one indexed file, in batches, in record order: JSON by streaming the file
 * again, Parquet a row group (or a slice of pages of a huge one) at a time, each row converted to its canonical
 * record without its JSON text. A file that stops being readable ends its batches (the index build reported it).
 */
export async function* fileTokens(file: DatasetFile, options: FileTokensOptions): AsyncGenerator<TokenBatch> {
  const { metrics, signal, skip } = options;
  const end = file.first + file.records;
  if (file.format === 'json') {
    const batches = readRecordBatches(file.path, { file: file.name, signal, chunkSize: 64 * 1024 });
    try {
      for await (const batch of batches) {
        if (signal?.aborted) return;
        const counts = new Uint32Array(batch.length).fill(NO_TOKENS);
        let used = 0;
        for (const item of batch) {
          const at = file.first + item.place.index;
          if (at >= end) break;
          if (!skip?.(at)) {
            const value = item.ok
              ? options.decoded
                ? options.decoded(item.value, item.place.index)
                : item.value
              : undefined;
            counts[used] = value !== undefined ? clamp32(metrics.tokens(value)) : 0;
          }
          used++;
        }
        if (used > 0) yield { from: file.first + batch[0]!.place.index, counts: counts.subarray(0, used) };
        if (used < batch.length) return;
      }
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error; // the index build reported it already
    }
    return;
  }
  let parquet: ParquetFile;
  try {
    parquet = await (options.parquet?.() ?? openParquetFile(file.path, sliceOption(options.parquetSliceBytes)));
  } catch (error) {
    if (DiagnosticError.is(error)) return; // the index build reported it already
    throw error;
  }
  let at = file.first;
  for (let g = 0; g < parquet.groups.length && at < end; g++) {
    if (signal?.aborted) return;
    const groupEnd = Math.min(end, at + parquet.groups[g]!);
    // only rows not counted yet are converted (the pages shown were counted on demand)
    let todo = !skip;
    for (let k = at; k < groupEnd && !todo; k++) if (!skip!(k)) todo = true;
    if (!todo) {
      at = groupEnd;
      continue;
    }
    try {
      // a huge row group is read in slices of pages (see ParquetFile.slices), the others whole
      const slices = await parquet.slices(g);
      for (let s = 0; s < slices.length && at < end; s++) {
        if (signal?.aborted) return;
        const sliceEnd = slices[s + 1] ?? parquet.groups[g]!;
        const rows = slices.length > 1 ? await parquet.readRows(g, slices[s]!, sliceEnd) : await parquet.readGroup(g);
        for (let i = 0; i < rows.length && at < end; ) {
          const n = Math.min(options.batchRows ?? 256, rows.length - i, end - at);
          const counts = new Uint32Array(n).fill(NO_TOKENS);
          for (let k = 0; k < n; k++, i++) {
            if (!skip?.(at + k)) {
              const one = parquet.toRecord(rows[i]!, (file.inputIndex ?? 0) + at + k - file.first);
              counts[k] = one.ok ? clamp32(metrics.tokens(one.record)) : 0;
            }
            rows[i] = undefined as never; // let the row (and its image bytes) go
          }
          yield { from: at, counts };
          at += n;
        }
      }
    } catch (error) {
      if (DiagnosticError.is(error)) return;
      throw error;
    }
  }
}

/**
 * Count the text tokens of every record of `index` in the background (see {@link DatasetIndex.countTokens}): with
 * the default metrics in the index's records thread (a worker with a bounded heap, see `records-thread.ts`), else — or when that thread
 * fails — here: the files are streamed again, in batches, yielding to the event loop between batches and waiting
 * while a request is answered.
 */
export async function countAllTokens(
  index: DatasetIndex,
  metrics: RecordMetrics,
  signal?: AbortSignal,
  busy?: () => boolean,
): Promise<void> {
  if (isLlamaMetrics(metrics) && !index.decode && (await index.countTokensInThread(busy, signal))) {
    index.tokensCounted = index.count;
    index.tokensDone = true;
    return;
  }
  if (signal?.aborted) return;
  for (const [f, file] of index.files.entries()) {
    const batches = fileTokens(file, {
      metrics,
      decoded: (value, i) => index.valueOf(value, i, file.name),
      parquet: () => index.parquetFile(f),
      skip: (n) => index.tokens[n] !== NO_TOKENS,
      signal,
    });
    for await (const batch of batches) {
      applyTokens(index, batch);
      await yieldToRequests(signal, busy);
    }
    if (signal?.aborted) return;
    index.tokensCounted = Math.max(index.tokensCounted, file.first + file.records);
  }
  index.tokensCounted = index.count;
  index.tokensDone = true;
}

/** Put a batch's counts in the index (records counted meanwhile keep theirs: the same count). */
export function applyTokens(index: DatasetIndex, batch: TokenBatch): void {
  const { from, counts } = batch;
  for (let k = 0; k < counts.length; k++) {
    const t = counts[k]!;
    if (t !== NO_TOKENS && index.tokens[from + k] === NO_TOKENS) index.tokens[from + k] = t;
  }
  index.tokensCounted = Math.max(index.tokensCounted, from + counts.length);
}
