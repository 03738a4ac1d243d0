/**
 * A worker thread of `computeStats` with workers: parse and decode batches of element bytes and count them (sources,
 * turns, placement, images, tokens with its own LLaMA tokenizer) exactly as the in-process loop does record by
 * record; answer with the batch's counts and the duplicate keys of its records (the main thread keeps the table).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BatchMessage, elementPlace, formatOf, type InputMessage, type ReadyMessage } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import type { FormatPlugin, RecordContext } from '@llavakit/format';
import { parseElement, type ReadItem } from '@llavakit/reader';
import { NO_IMAGES } from './format-context.js';
import type { Key64 } from './hash.js';
import { measureRecord } from './length.js';
import { decodeItem } from './read-inputs.js';
import { StatsCounter } from './stats-count.js';
import type { StatsBatchResult, StatsSetup } from './stats-protocol.js';
import { LlamaTokenCounter } from './tokens.js';

const setup = workerData as StatsSetup;
const port = parentPort!;

async function start(): Promise<void> {
  let tokens: LlamaTokenCounter | undefined;
  try {
    tokens = setup.tokens ? await LlamaTokenCounter.create() : undefined;
  } catch (error) {
    port.postMessage({ ready: false, reason: messageOf(error) } satisfies ReadyMessage);
    return;
  }
  const lengthOptions = {
    counter: tokens!,
    model: setup.model,
    ...(setup.template ? { template: setup.template } : {}),
  };
  // The input being counted (set by its InputMessage).
  let format: FormatPlugin<object> | undefined;
  let file = '';
  const context: RecordContext<object> & { index: number } = {
    options: {},
    file,
    index: 0,
    report: () => undefined,
    count: () => undefined,
    images: NO_IMAGES,
  };

  const begin = async (input: InputMessage): Promise<ReadyMessage> => {
    try {
      const next = await formatOf(input.source);
      if (!next.decode) throw new Error(`${next.name} has no record-level decode`);
      format = next;
      file = input.file;
      Object.assign(context, { options: input.readOptions, file });
      return { ready: true };
    } catch (error) {
      return { ready: false, reason: messageOf(error) };
    }
  };

  const countBatch = (batch: BatchMessage): StatsBatchResult => {
    const bytes = Buffer.from(batch.buffer);
    const n = batch.ends.length;
    const keys = new Uint32Array(n * 4);
    const hasId = new Uint8Array(n);
    let j = 0;
    const counter = new StatsCounter((id: Key64 | undefined, conversation: Key64) => {
      if (id) {
        keys[j * 4] = id.hi;
        keys[j * 4 + 1] = id.lo;
        hasId[j] = 1;
      }
      keys[j * 4 + 2] = conversation.hi;
      keys[j * 4 + 3] = conversation.lo;
      j++;
    });
    const p = batch.places;
    let fatal: Diagnostic | undefined;
    for (let k = 0; k < n; k++) {
      const start = batch.starts[k]!;
      const end = batch.ends[k]!;
      const place = elementPlace(p, k, end - start);
      try {
        const rejected = batch.rejected?.find((r) => r.k === k);
        // Every element is parsed, those of other shards too: the in-process reader parses them all, and an element
        // it cannot parse at all (invalid UTF-8, nesting too deep) ends the read wherever it is.
        const read: ReadItem = rejected
          ? { ok: false, diagnostic: rejected.diagnostic, place: { ...place, length: rejected.length }, text: '' }
          : parseElement(bytes.subarray(start, end), place, file);
        if (batch.keep && batch.keep[k] === 0) continue;
        if (!read.ok) {
          counter.invalidItem({ ok: false, file, index: place.index, diagnostics: [read.diagnostic] });
          continue;
        }
        const item = decodeItem(format!, context, read.value, file, read.place, undefined);
        if (!item.ok) {
          counter.invalidItem(item);
          continue;
        }
        counter.record(item.record);
        if (tokens) counter.length(measureRecord(item.record, lengthOptions));
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error;
        fatal = error.diagnostic;
        break;
      }
    }
    return {
      id: batch.id,
      input: batch.buffer,
      part: counter.part(),
      keys: j === n ? keys : keys.slice(0, j * 4),
      hasId: j === n ? hasId : hasId.slice(0, j),
      ...(fatal ? { fatal } : {}),
    };
  };

  port.on('message', (message: BatchMessage | InputMessage) => {
    if (message.kind === 'input') {
      void begin(message).then((answer) => port.postMessage(answer));
      return;
    }
    const result = countBatch(message);
    port.postMessage(result, [result.input, result.keys.buffer as ArrayBuffer, result.hasId.buffer as ArrayBuffer]);
  });
  port.postMessage({ ready: true } satisfies ReadyMessage);
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}

void start();
