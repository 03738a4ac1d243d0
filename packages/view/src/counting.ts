import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { DiagnosticError } from '@llavakit/diagnostics';
import { readRecordBatches } from '@llavakit/reader';
import type { DatasetIndex } from './dataset.js';
import type { RecordMetrics } from './metrics.js';
import { clamp32, NO_TOKENS } from './model.js';
import { parquetRecordOf } from './parquet.js';

/** Let page requests have the event loop: one turn, then wait while a request is being answered. */
async function yieldToRequests(signal?: AbortSignal, busy?: () => boolean): Promise<void> {
  await turn();
  // while a request is answered, counting waits (a request awaits many reads; each would let a batch in)
  while (busy?.() && !signal?.aborted) await sleep(2);
}

/**
 * Count the text tokens of every record of `index` in the background (see {@link DatasetIndex.countTokens}): the
 * files are streamed again, in batches, yielding to the event loop between batches.
 */
export async function countAllTokens(
  index: DatasetIndex,
  metrics: RecordMetrics,
  signal?: AbortSignal,
  busy?: () => boolean,
): Promise<void> {
  for (const [f, file] of index.files.entries()) {
    if (file.format === 'parquet') {
      if (!(await countParquetTokens(index, f, metrics, signal, busy))) return;
      index.tokensCounted = file.first + file.records;
      continue;
    }
    const batches = readRecordBatches(file.path, { file: file.name, signal, chunkSize: 64 * 1024 });
    try {
      for await (const batch of batches) {
        if (signal?.aborted) return;
        let n = index.tokensCounted;
        for (const item of batch) {
          const at = file.first + item.place.index;
          if (at >= index.count) break;
          if (index.tokens[at] === NO_TOKENS) {
            const value = item.ok ? index.valueOf(item.value, item.place.index, file.name) : undefined;
            index.tokens[at] = value !== undefined ? clamp32(metrics.tokens(value)) : 0;
          }
          n = at + 1;
        }
        index.tokensCounted = n;
        await yieldToRequests(signal, busy);
      }
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error; // the index build reported it already
    }
  }
  index.tokensCounted = index.count;
  index.tokensDone = true;
}

/** {@link countAllTokens} over one Parquet file, one row group at a time; false when aborted. */
async function countParquetTokens(
  index: DatasetIndex,
  f: number,
  metrics: RecordMetrics,
  signal?: AbortSignal,
  busy?: () => boolean,
): Promise<boolean> {
  const file = index.files[f]!;
  let parquet: Awaited<ReturnType<DatasetIndex['parquetFile']>>;
  try {
    parquet = await index.parquetFile(f);
  } catch (error) {
    if (DiagnosticError.is(error)) return true; // the index build reported it already
    throw error;
  }
  const end = file.first + file.records;
  let at = file.first;
  for (let g = 0; g < parquet.groups.length && at < end; g++) {
    if (signal?.aborted) return false;
    const groupEnd = Math.min(end, at + parquet.groups[g]!);
    // only rows not counted yet are converted (the pages shown were counted on demand)
    let todo = false;
    for (let k = at; k < groupEnd; k++) if (index.tokens[k] === NO_TOKENS) todo = true;
    if (!todo) {
      at = groupEnd;
      continue;
    }
    try {
      // a huge row group is read in slices of pages (see ParquetFile.slices), the others whole
      const slices = await parquet.slices(g);
      for (let s = 0; s < slices.length && at < end; s++) {
        if (signal?.aborted) return false;
        const sliceEnd = slices[s + 1] ?? parquet.groups[g]!;
        const rows = slices.length > 1 ? await parquet.readRows(g, slices[s]!, sliceEnd) : await parquet.readGroup(g);
        for (let i = 0; i < rows.length && at < end; i++) {
          if (index.tokens[at] === NO_TOKENS) {
            const one = parquetRecordOf(parquet, rows[i]!, (file.inputIndex ?? 0) + at - file.first);
            index.tokens[at] = one.record ? clamp32(metrics.tokens(one.record)) : 0;
          }
          rows[i] = undefined as never; // let the row (and its image bytes) go
          at++;
          if ((at & 255) === 0) {
            index.tokensCounted = at;
            await yieldToRequests(signal, busy);
          }
        }
      }
    } catch (error) {
      if (DiagnosticError.is(error)) return true;
      throw error;
    }
    index.tokensCounted = at;
    await yieldToRequests(signal, busy);
  }
  return true;
}
