import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { ImageSource } from '@llavakit/images';
import type { ValidationKind } from '@llavakit/schema';
import { workerExecArgv } from './exec-argv.js';
import type { IndexOptions, IndexParts, IndexProgress } from './model.js';
import { summarizeRecord } from './summary.js';

/**
 * The heap of the index build's worker thread. The build makes garbage at a high rate (each decoded Parquet row
 * group, each parsed record) and keeps little (the typed columns and the validator's id table are outside the
 * heap); in the main thread V8 let that garbage grow the heap to ~200 MiB before collecting it (mix665k as Parquet:
 * 337 MiB peak RSS). A bounded old generation makes it collect early; a build that needs more dies out of memory
 * and is run again in the calling thread.
 */
export const BUILD_RESOURCE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 48 };

/** What the worker thread is given (`workerData`): the inputs and the options that can cross a thread. */
export interface BuildSetup {
  readonly paths: readonly string[];
  readonly kind?: ValidationKind;
  readonly maxKeptDiagnostics?: number;
  readonly parquetSliceBytes?: number;
  readonly imageSources?: readonly ImageSource[];
}

/** What the worker thread posts: progress, then the parts (their typed columns transferred, not copied). */
export type BuildMessage =
  | { readonly type: 'progress'; readonly progress: IndexProgress }
  | { readonly type: 'parts'; readonly parts: IndexParts };

/** The typed columns of the parts, to transfer. */
export function transferList(parts: IndexParts): ArrayBuffer[] {
  const columns = [
    parts.fileOf,
    parts.offsets,
    parts.lengths,
    parts.localIndex,
    parts.sourceCode,
    parts.turns,
    parts.images,
    parts.ruleMask,
    parts.worst,
    parts.duplicateOf,
  ];
  const buffers = new Set<ArrayBuffer>();
  for (const c of columns) if (c.buffer instanceof ArrayBuffer && c.byteLength > 0) buffers.add(c.buffer);
  return [...buffers];
}

/** The built worker script beside this module, or `undefined` when running from the TypeScript sources. */
function defaultScript(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const url = new URL('./build-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** The setup for a worker build of `paths`, or `undefined` when the options cannot cross a thread. */
export function buildSetup(paths: readonly string[], options: IndexOptions): BuildSetup | undefined {
  if (options.worker === false || options.decode !== undefined) return undefined;
  if (options.metrics.summarize !== summarizeRecord) return undefined;
  if (options.resolver !== undefined && options.imageSources === undefined) return undefined;
  return {
    paths: [...paths],
    ...(options.kind !== undefined ? { kind: options.kind } : {}),
    ...(options.maxKeptDiagnostics !== undefined ? { maxKeptDiagnostics: options.maxKeptDiagnostics } : {}),
    ...(options.parquetSliceBytes !== undefined ? { parquetSliceBytes: options.parquetSliceBytes } : {}),
    ...(options.resolver !== undefined && options.imageSources !== undefined
      ? { imageSources: [...options.imageSources] }
      : {}),
  };
}

/**
 * Build the index parts in a worker thread with a bounded heap ({@link BUILD_RESOURCE_LIMITS}); the thread ends
 * when they are handed over, and its heap with it. `undefined` when it cannot (options that cannot cross a thread,
 * no built worker script) or when the thread fails (out of memory, any error): the caller then builds in its own
 * thread, which also reports any real error as before. Rejects with the signal's reason when aborted.
 */
export async function buildIndexInWorker(
  paths: readonly string[],
  options: IndexOptions,
  script: URL | undefined = defaultScript(),
  resourceLimits: ResourceLimits = BUILD_RESOURCE_LIMITS,
): Promise<IndexParts | undefined> {
  const setup = buildSetup(paths, options);
  if (!setup || !script) return undefined;
  options.signal?.throwIfAborted();
  const worker = new Worker(script, { workerData: setup, resourceLimits, execArgv: workerExecArgv() });
  try {
    return await new Promise<IndexParts | undefined>((resolve, reject) => {
      const abort = () => reject(options.signal?.reason);
      options.signal?.addEventListener('abort', abort, { once: true });
      const done = (parts: IndexParts | undefined) => {
        options.signal?.removeEventListener('abort', abort);
        resolve(parts);
      };
      worker.on('message', (message: BuildMessage) => {
        if (message.type !== 'progress') return done({ ...message.parts, decode: undefined });
        try {
          options.onProgress?.(message.progress);
        } catch (error) {
          reject(error); // as a throwing callback ends a build in this thread
        }
      });
      worker.on('error', () => done(undefined));
      worker.on('exit', () => done(undefined));
    });
  } finally {
    await worker.terminate();
  }
}
