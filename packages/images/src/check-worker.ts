/**
 * Worker thread entry (built to `dist/check-worker.js`): builds a resolver from `workerData` ({@link WorkerSetup}),
 * then answers each `{ id, refs }` (an array: flat strings, which look up faster than slices of a joined one) with
 * `{ id, batch }`, the {@link CheckBatch} of those refs,
 * its numbers transferred. Batches are checked one after another, in the order they came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkBatch } from './check-batch.js';
import type { WorkerSetup } from './check-pool.js';
import { createImageResolver } from './resolver.js';
import { SNIFF_HEAD_BYTES } from './sniff.js';

const port = parentPort;
if (port) {
  const setup = workerData as WorkerSetup;
  const resolver = createImageResolver(setup.sources, setup.options);
  const buffer = new Uint8Array(SNIFF_HEAD_BYTES);
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: { id: number; refs: string[] } | { sources: true } | { close: true }) => {
    if ('close' in message) {
      // after the batches in the queue: close the archives, then let the thread end
      queue = queue.then(async () => {
        await resolver.close();
        port.close();
      });
      return;
    }
    if ('sources' in message) {
      // The sources' own problems, checked here so that the calling thread never opens the zip archives.
      resolver.checkSources().then(
        (diagnostics) => port.postMessage({ sources: diagnostics }),
        (error: unknown) => port.postMessage({ sources: null, error: String(error) }),
      );
      return;
    }
    queue = queue.then(async () => {
      const batch = await checkBatch(resolver, message.refs, buffer);
      port.postMessage({ id: message.id, batch }, [batch.values.buffer as ArrayBuffer]);
    });
  });
}
