/**
 * Worker thread entry (built to `dist/build-worker.js`): builds an index's parts from `workerData` (a
 * {@link BuildSetup}) with the default summary, posts progress and then the parts, their typed columns transferred.
 * See `build-thread.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createImageResolver } from '@llavakit/images';
import { buildIndex } from './build.js';
import { type BuildMessage, type BuildSetup, transferList } from './build-thread.js';
import { summarizeRecord } from './summary.js';

const setup = workerData as BuildSetup;
const post = (message: BuildMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(message, transfer);
const resolver = setup.imageSources ? createImageResolver(setup.imageSources) : undefined;
try {
  const parts = await buildIndex(
    setup.paths,
    {
      // the summary is all the build needs of the metrics; tokens are counted later, elsewhere
      metrics: { tokenizer: '', summarize: summarizeRecord, tokens: () => 0 },
      resolver,
      ...(setup.kind !== undefined ? { kind: setup.kind } : {}),
      ...(setup.maxKeptDiagnostics !== undefined ? { maxKeptDiagnostics: setup.maxKeptDiagnostics } : {}),
      ...(setup.parquetSliceBytes !== undefined ? { parquetSliceBytes: setup.parquetSliceBytes } : {}),
      onProgress: (progress) => post({ type: 'progress', progress }),
    },
    // the image audit in this thread too, not in a thread of its own with an unbounded heap (its listing of the
    // folders and its reads are most of the build's garbage: mix665k's 530,608 references peaked at 357 MiB with
    // the audit's own worker, 287 MiB without)
    0,
  );
  post({ type: 'parts', parts: { ...parts, decode: undefined } }, transferList(parts));
} finally {
  await resolver?.close();
}
