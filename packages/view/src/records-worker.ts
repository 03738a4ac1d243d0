/**
 * Worker thread entry (built to `dist/records-worker.js`) of {@link RecordsThread}: reads records of the index's
 * Parquet files with a `ParquetRecords` of its own (its row-group cache lives here), answering each request with the
 * records' JSON texts and embedded image bytes (copied out of the decoded pages, and transferred), and counts every
 * record's tokens with the default metrics when asked, in batches, giving way to reads between batches.
 */
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { DiagnosticError } from '@llavakit/diagnostics';
import { fileTokens } from './counting.js';
import { createDefaultMetrics } from './metrics.js';
import { clamp32 } from './model.js';
import { ParquetRecords } from './parquet.js';
import type { RecordsAnswer, RecordsRequest, RecordsSetup, SentRecord } from './records-thread.js';

/** Token counts per message. */
const BATCH = 4096;

const setup = workerData as RecordsSetup;
const records = new ParquetRecords(
  (file) => {
    const f = setup.files[file];
    if (f?.format !== 'parquet') throw new RangeError(`file ${file} is not a Parquet file of the index`);
    return f.path;
  },
  undefined,
  setup.parquetSliceBytes,
);
const post = (answer: RecordsAnswer, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(answer, transfer);

async function read(id: number, reads: Extract<RecordsRequest, { type: 'read' }>['reads']): Promise<void> {
  const transfer: ArrayBuffer[] = [];
  try {
    const out: SentRecord[] = [];
    for (const [file, group, row, index] of reads) {
      const one = await records.read(file, group, row, index);
      if (one.invalid) {
        out.push({ text: one.text, invalid: one.invalid });
        continue;
      }
      let embedded: Map<string, Uint8Array> | undefined;
      if (one.embedded && one.embedded.size > 0) {
        // a view into a decoded page would send the whole page: copy the image's bytes alone
        embedded = new Map();
        for (const [path, bytes] of one.embedded) {
          const copy = bytes.slice();
          embedded.set(path, copy);
          transfer.push(copy.buffer as ArrayBuffer);
        }
      }
      out.push({ text: one.text, ...(embedded ? { embedded } : {}) });
    }
    post({ type: 'read', id, ok: true, records: out }, transfer);
  } catch (error) {
    post(
      DiagnosticError.is(error)
        ? { type: 'read', id, ok: false, diagnostic: error.diagnostic, message: error.message }
        : { type: 'read', id, ok: false, message: (error as Error).message },
    );
  }
}

/** One counter for the background count and the records shown: its memory of pieces stays warm. */
const metrics = createDefaultMetrics();

function tokensOf(id: number, texts: readonly string[]): void {
  const counts = texts.map((text) => {
    try {
      return clamp32(metrics.tokens(JSON.parse(text)));
    } catch {
      return 0;
    }
  });
  post({ type: 'tokens-of', id, counts });
}

async function count(busy: Int32Array): Promise<void> {
  let pending = new Uint32Array(BATCH);
  let from = -1;
  let used = 0;
  const flush = () => {
    if (used > 0) post({ type: 'tokens', from, counts: pending.subarray(0, used) }, [pending.buffer as ArrayBuffer]);
    pending = new Uint32Array(BATCH);
    used = 0;
    from = -1;
  };
  for (const [f, file] of setup.files.entries()) {
    const batches = fileTokens(file, {
      metrics,
      ...(file.format === 'parquet' ? { parquet: () => records.file(f) } : {}),
      batchRows: 64,
    });
    for await (const batch of batches) {
      if (from >= 0 && from + used !== batch.from) flush();
      for (let k = 0; k < batch.counts.length; k++) {
        if (used === BATCH) flush();
        if (from < 0) from = batch.from + k;
        pending[used++] = batch.counts[k]!;
      }
      // reads first: let waiting messages in; while the caller answers a request, give it the CPU (never a
      // blocking wait: the request may be waiting for a read of this thread)
      await turn();
      while (Atomics.load(busy, 0) === 1) await sleep(2);
    }
    flush();
  }
  post({ type: 'counted' });
}

parentPort!.on('message', (request: RecordsRequest) => {
  if (request.type === 'read') void read(request.id, request.reads);
  else if (request.type === 'tokens-of') tokensOf(request.id, request.texts);
  else void count(request.busy);
});
