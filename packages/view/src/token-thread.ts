import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { DatasetIndex } from './dataset.js';
import { isLlamaMetrics, type RecordMetrics } from './metrics.js';
import { type DatasetFile, NO_TOKENS } from './model.js';

/**
 * The heap of the token count's worker thread: the count reads every record again (1 GB of JSON, every row group)
 * and keeps only the counter's memory of pieces; in the main thread its garbage took the heap to ~180 MiB beside
 * the index. A count that needs more dies out of memory and goes on in the calling thread.
 */
export const COUNT_RESOURCE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 24 };

/** What the token worker is given (`workerData`). */
export interface CountSetup {
  readonly files: readonly DatasetFile[];
  readonly parquetSliceBytes?: number;
}

/** What the token worker posts: the counts of consecutive records (transferred), then `done`. */
export type CountMessage =
  | { readonly type: 'tokens'; readonly from: number; readonly counts: Uint32Array }
  | { readonly type: 'done' };

function defaultScript(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./token-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Count every record's text tokens in a worker thread with a bounded heap ({@link COUNT_RESOURCE_LIMITS}) and put
 * them in `index.tokens` as they come (the rows counted on demand meanwhile keep theirs: the same counts). True when
 * every file was counted; false when it cannot run here (metrics other than `createDefaultMetrics()`'s, a `decode`,
 * no built worker script), when aborted, or when the thread failed — the caller then counts what is left itself.
 */
export async function countTokensInWorker(
  index: DatasetIndex,
  metrics: RecordMetrics,
  signal?: AbortSignal,
  script: URL | undefined = defaultScript(),
  resourceLimits: ResourceLimits = COUNT_RESOURCE_LIMITS,
): Promise<boolean> {
  if (!script || !isLlamaMetrics(metrics) || index.decode !== undefined || signal?.aborted) return false;
  const setup: CountSetup = {
    files: index.files,
    ...(index.parquetSliceBytes !== undefined ? { parquetSliceBytes: index.parquetSliceBytes } : {}),
  };
  const worker = new Worker(script, { workerData: setup, resourceLimits });
  try {
    return await new Promise<boolean>((resolve) => {
      const abort = () => resolve(false);
      signal?.addEventListener('abort', abort, { once: true });
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', abort);
        resolve(ok);
      };
      worker.on('message', (message: CountMessage) => {
        if (message.type === 'done') done(true);
        else {
          const { from, counts } = message;
          for (let k = 0; k < counts.length; k++) {
            if (index.tokens[from + k] === NO_TOKENS) index.tokens[from + k] = counts[k]!;
          }
          index.tokensCounted = Math.max(index.tokensCounted, from + counts.length);
        }
      });
      worker.on('error', () => done(false));
      worker.on('exit', () => done(false));
    });
  } finally {
    await worker.terminate();
  }
}
