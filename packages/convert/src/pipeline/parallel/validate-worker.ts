/**
 * A worker thread of a parallel validation: parse (and decode, for a format that is not LLaVA) batches of element
 * bytes and run the per-record half of the validator on them, exactly as `readForValidation` and `llava validate` do
 * record by record; the main thread runs the cross-record half (duplicate ids, id types, path forms) in input order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FormatPlugin } from '@llavakit/format';
import type { BatchMessage, ReadyMessage, ValidationResult, ValidationSetup } from './protocol.js';
import { createBatchChecker } from './validate-batch.js';
import { formatOf } from './worker-format.js';

const setup = workerData as ValidationSetup;
const port = parentPort!;

async function start(): Promise<void> {
  let decode: FormatPlugin<object>['decode'];
  try {
    if (setup.format) {
      decode = (await formatOf(setup.format)).decode;
      if (!decode) throw new Error(`${setup.format.name} has no record-level decode`);
    }
  } catch (error) {
    port.postMessage({ ready: false, reason: error instanceof Error ? error.message : String(error) } as ReadyMessage);
    return;
  }
  const check = createBatchChecker(setup, decode);
  const validateBatch = async (batch: BatchMessage): Promise<ValidationResult> => {
    const { records, fatalAt, fatal } = await check(batch);
    return { ...handBack(batch), records: jsonBytes(records), fatalAt, ...(fatal ? { fatal } : {}) };
  };

  // One batch at a time, in the order they come (the first record that is not plain loads the rules).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (batch: BatchMessage) => {
    queue = queue.then(async () => {
      const result = await validateBatch(batch);
      port.postMessage(result, [
        result.input,
        result.starts.buffer as ArrayBuffer,
        result.ends.buffer as ArrayBuffer,
        result.places.buffer as ArrayBuffer,
        result.records.buffer as ArrayBuffer,
      ]);
    });
  });
  port.postMessage({ ready: true } as ReadyMessage);
}

/** JSON as UTF-8 in its own memory (never a view into Node's shared pool, so it can be moved). */
function jsonBytes(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  out.write(text, 0, 'utf8');
  return out;
}

function handBack(batch: BatchMessage): Pick<ValidationResult, 'id' | 'input' | 'starts' | 'ends' | 'places'> {
  return { id: batch.id, input: batch.buffer, starts: batch.starts, ends: batch.ends, places: batch.places };
}

void start();
