/**
 * Worker thread entry (built to `dist/sniff-worker.js`): receives `{ id, paths }` with paths joined by NUL, answers
 * `{ id, batch }` with the {@link SniffBatch} of those files, its numbers transferred.
 */
import { parentPort } from 'node:worker_threads';
import { sniffFiles } from './sniff-batch.js';

const port = parentPort;
if (port) {
  port.on('message', (message: { id: number; paths: string }) => {
    const batch = sniffFiles(message.paths.split('\0'));
    port.postMessage({ id: message.id, batch }, [batch.values.buffer as ArrayBuffer]);
  });
}
