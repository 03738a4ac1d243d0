/**
 * Worker thread entry (built to `dist/token-worker.js`): counts the text tokens of every record of the files in
 * `workerData` (a {@link CountSetup}) with the default metrics, posting the counts in batches. See `token-thread.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fileTokens } from './counting.js';
import { createDefaultMetrics } from './metrics.js';
import type { CountMessage, CountSetup } from './token-thread.js';

/** Records per message. */
const BATCH = 4096;

const setup = workerData as CountSetup;
const metrics = createDefaultMetrics();
const post = (message: CountMessage) =>
  parentPort!.postMessage(message, message.type === 'tokens' ? [message.counts.buffer as ArrayBuffer] : []);
let pending: Uint32Array = new Uint32Array(BATCH);
let from = -1;
let used = 0;
const flush = () => {
  if (used > 0) post({ type: 'tokens', from, counts: pending.slice(0, used) });
  used = 0;
  from = -1;
};
for (const file of setup.files) {
  const batches = fileTokens(file, {
    metrics,
    ...(setup.parquetSliceBytes !== undefined ? { parquetSliceBytes: setup.parquetSliceBytes } : {}),
  });
  for await (const batch of batches) {
    if (from >= 0 && from + used !== batch.from) flush();
    for (let k = 0; k < batch.counts.length; k++) {
      if (used === BATCH) flush();
      if (from < 0) from = batch.from + k;
      pending[used++] = batch.counts[k]!;
    }
  }
  flush();
}
post({ type: 'done' });
pending = new Uint32Array(0);
