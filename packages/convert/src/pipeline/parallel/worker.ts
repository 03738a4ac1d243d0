/**
 * A worker thread of a parallel conversion: parse, decode, check and encode batches of element bytes, exactly as the
 * in-process path does record by record (same walls, same diagnostics), answering with the batch's output text and
 * the per-record events the main thread replays in input order. See `protocol.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Diagnostic } from '@llavakit/diagnostics';
import type { FormatPlugin, RecordContext, SourceRecord } from '@llavakit/format';
import type { ReadItem } from '@llavakit/reader';
import type { EncodeWatch } from '../walls.js';
import { PlainReader } from './plain.js';
import { type PlainEncoder, type PlainOutput, plainEncoderFor, plainOutputBound } from './plain-encoders.js';
import {
  type BatchMessage,
  type BatchResult,
  elementPlace,
  type FormatRef,
  type InputMessage,
  REJECTED,
  type ReadyMessage,
  type RecordEvent,
  SKIPPED,
  UNREAD,
  type WorkerSetup,
  WRITTEN,
} from './protocol.js';

type Full = typeof import('./worker-full.js');

const setup = workerData as WorkerSetup;
const port = parentPort!;

async function start(): Promise<void> {
  // The full path (parse, decode, check, encode) and the formats are loaded when first needed: at once for a plugin
  // target (whose import must be proved before the run relies on the workers), else with the first input that has no
  // plain encoder, or the first record that is not plain.
  let full: Full | undefined;
  let target: FormatPlugin<object> | undefined;
  let source: FormatPlugin<object> | undefined;
  let sourceRef: FormatRef | undefined;
  let check: ((record: SourceRecord) => readonly Diagnostic[]) | undefined;
  let watch: EncodeWatch | undefined;
  const load = async (): Promise<Full> => {
    if (!full) {
      const loaded = await import('./worker-full.js');
      target = await loaded.formatOf(setup.target);
      if (!target.encode) throw new Error(`${target.name} has no record-level encode`);
      check = setup.check === 'record' ? loaded.createRecordChecker() : undefined;
      watch = new loaded.EncodeWatch(setup.encodeTimeoutMs);
      full = loaded;
    }
    if (!source && sourceRef) {
      const format = await full.formatOf(sourceRef);
      if (!format.decode) throw new Error(`${format.name} has no record-level decode`);
      source = format;
    }
    return full;
  };
  try {
    if (setup.target.module !== undefined) await load();
  } catch (error) {
    port.postMessage({ ready: false, reason: messageOf(error) } as ReadyMessage);
    return;
  }
  let events: RecordEvent[] = [];
  let k = 0;
  // Counts add up until the next other event (or the batch's end): one event per name, not one per record (a
  // format that counts every record would send and replay 100,000 of them). The replay stays exact: a run stops only
  // at a reject, and the counts before it are sent ahead of it.
  const counted = new Map<string, number>();
  let countedAt = 0;
  const flushCounts = () => {
    if (counted.size === 0) return;
    for (const [event, by] of counted) events.push({ k: countedAt, kind: 'count', event, by });
    counted.clear();
  };
  const push = (event: RecordEvent) => {
    flushCounts();
    events.push(event);
  };
  const note = (diagnostic: Diagnostic) => {
    push({ k, kind: 'note', diagnostic });
  };
  const count = (event: string, by = 1) => {
    counted.set(event, (counted.get(event) ?? 0) + by);
    countedAt = k;
  };
  const images = { rewrite: (path: string) => path, readBytes: async () => undefined };
  // The input being converted (set by its InputMessage).
  let file = '';
  // Plain records skip parse, decode, check and encode when the conversion has an encoder for them (./plain.ts).
  let plain: PlainEncoder | undefined;
  const plainReader = new PlainReader();
  const decodeContext: { -readonly [K in keyof RecordContext<object>]: RecordContext<object>[K] } = {
    options: {},
    file,
    index: 0,
    report: note,
    count,
    images,
  };
  const encodeContext: typeof decodeContext = { ...decodeContext, options: setup.targetOptions };
  const begin = async (input: InputMessage): Promise<ReadyMessage> => {
    try {
      source = undefined;
      sourceRef = input.source;
      plain = plainEncoderFor(input.source, setup.target, setup.targetOptions);
      file = input.file;
      decodeContext.file = encodeContext.file = file;
      decodeContext.options = input.readOptions;
      // (a plugin reader must be proved importable now; built-in formats of a plain conversion load on demand)
      if (!plain || input.source.module !== undefined) await load();
      return { ready: true };
    } catch (error) {
      sourceRef = undefined;
      source = undefined;
      return { ready: false, reason: messageOf(error) };
    }
  };
  const rejectLine = (index: number, diagnostics: readonly Diagnostic[], value: unknown, text?: string) =>
    setup.rejects
      ? JSON.stringify({ file, index, diagnostics, ...(value !== undefined ? { record: value } : { text }) })
      : undefined;
  const reject = (index: number, diagnostics: readonly Diagnostic[], value: unknown, text?: string) => {
    push({ k, kind: 'reject', index, diagnostics, line: rejectLine(index, diagnostics, value, text) });
  };

  const convertBatch = async (batch: BatchMessage): Promise<BatchResult> => {
    const bytes = Buffer.from(batch.buffer);
    const n = batch.ends.length;
    const status = new Uint8Array(n).fill(UNREAD);
    const lengths = new Int32Array(n);
    // The output is UTF-8 encoded here as records come (not on the main thread, which only copies the bytes out).
    const need = Math.max(64 * 1024, batch.ends[n - 1] ?? 0);
    let out =
      batch.output && batch.output.byteLength >= need ? Buffer.from(batch.output) : Buffer.allocUnsafeSlow(need);
    let used = 0;
    const room = (bytes: number) => {
      if (bytes <= out.length - used) return;
      const grown = Buffer.allocUnsafeSlow(Math.max(out.length * 2, used + bytes));
      out.copy(grown, 0, 0, used);
      out = grown;
    };
    const append = (text: string) => {
      room(text.length * 3);
      const bytes = out.write(text, used, 'utf8');
      used += bytes;
      return bytes;
    };
    const plainOut: PlainOutput = { buffer: out, used: 0 };
    let first = true;
    events = [];
    for (k = 0; k < n; k++) {
      const start = batch.starts[k]!;
      const end = batch.ends[k]!;
      const place = elementPlace(batch.places, k, end - start);
      const rejected = batch.rejected?.find((r) => r.k === k);
      if (plain && !rejected && plainReader.read(bytes, start, end)) {
        if (batch.keep && batch.keep[k] === 0) {
          status[k] = SKIPPED;
          continue;
        }
        status[k] = WRITTEN;
        if (!first) append(setup.separator);
        first = false;
        room(plainOutputBound(end - start, plainReader.turns));
        plainOut.buffer = out;
        plainOut.used = used;
        plain(plainReader, bytes, plainOut, count);
        lengths[k] = plainOut.used - used;
        used = plainOut.used;
        continue;
      }
      const f = full && source ? full : await load();
      let item: ReadItem;
      try {
        item = rejected
          ? { ok: false, diagnostic: rejected.diagnostic, place: { ...place, length: rejected.length }, text: '' }
          : f.parseElement(bytes.subarray(start, end), place, file);
        if (place.index === 0 && item.ok) f.refuseWrappedRecords(item.value, file, place);
      } catch (error) {
        if (!f.DiagnosticError.is(error)) throw error;
        push({ k, kind: 'fatal', diagnostic: error.diagnostic });
        break;
      }
      decodeContext.index = place.index;
      const result = f.decodeItem(source!, item, decodeContext, file);
      if (batch.keep && batch.keep[k] === 0) {
        status[k] = SKIPPED;
        continue;
      }
      status[k] = REJECTED;
      if (!result.ok) {
        reject(result.index, result.diagnostics, undefined, result.text);
        continue;
      }
      const record: SourceRecord = { record: result.record, index: result.index, file, place };
      if (check) {
        const found = check(record);
        if (found.some((d) => d.severity === 'error')) {
          reject(result.index, found, result.record);
          continue;
        }
        for (const d of found) note(d);
      }
      encodeContext.index = place.index;
      const encoding = f.encodeOne(target!, record, encodeContext, watch!);
      const outcome = encoding instanceof Promise ? await encoding : encoding;
      if (outcome.ok) {
        status[k] = WRITTEN;
        if (!first) append(setup.separator);
        first = false;
        lengths[k] = append(outcome.json);
      } else reject(result.index, f.withPlace(outcome.diagnostics, record), record.record);
    }
    flushCounts();
    return { id: batch.id, out: out.subarray(0, used), input: batch.buffer, status, lengths, events };
  };

  // One message at a time, in the order they come (the main thread puts the answers back in input order).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: InputMessage | BatchMessage) => {
    queue = queue.then(async () => {
      if (message.kind === 'input') {
        port.postMessage(await begin(message));
        return;
      }
      if (!sourceRef) throw new Error('a batch came before its input');
      const result = await convertBatch(message);
      try {
        port.postMessage(result, transferOf(result));
      } catch {
        // A plugin's diagnostic that cannot be cloned (a function in its data): sent as its JSON.
        const events = JSON.parse(JSON.stringify(result.events)) as RecordEvent[];
        port.postMessage({ ...result, events }, transferOf(result));
      }
    });
  });
  port.postMessage({ ready: true } as ReadyMessage);
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}

/** The buffers of a result, moved (not copied) to the main thread. */
function transferOf(result: BatchResult): ArrayBuffer[] {
  const list = [result.input, result.status.buffer as ArrayBuffer, result.lengths.buffer as ArrayBuffer];
  // (`out` has its own memory: allocUnsafeSlow, never Node's shared pool)
  list.push(result.out.buffer as ArrayBuffer);
  return list;
}

void start();
