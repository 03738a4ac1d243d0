import { Readable } from 'node:stream';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { readerRules } from './rules.js';
import { RecordScanner, scanDepth } from './scanner.js';
import { ioError, openSource } from './source.js';
import type { InputSource, ReadItem, ReadOptions } from './types.js';

function fileName(input: InputSource, options: ReadOptions): string | undefined {
  if (options.file !== undefined) return options.file;
  return typeof input === 'string' ? input : undefined;
}

/**
 * Read the records of a LLaVA-family data file one by one, in constant memory: a top-level JSON array (pretty or
 * single-line, with or without BOM/CRLF) or JSON Lines. Each element comes with its place (index, byte offset, line,
 * column, byte length) and raw text. An element whose own JSON is broken is yielded as `{ ok: false, diagnostic }`
 * and reading goes on; a problem that makes the rest of the file unreadable (truncation, not JSON, not an array,
 * empty, missing file, invalid UTF-8, nesting too deep, an element over `maxRecordBytes`) ends the iteration by
 * throwing a `DiagnosticError` whose diagnostic names the rule, file and place.
 *
 * @example
 * ```ts
 * for await (const item of readRecords('llava_instruct_150k.json')) {
 *   if (item.ok) console.log(item.place.index, item.place.line, (item.value as { id: string }).id);
 *   else console.error(formatDiagnostic(item.diagnostic));
 * }
 * ```
 */
export function readRecords(input: InputSource, options: ReadOptions = {}): AsyncIterable<ReadItem> {
  return options.engine === 'stream-json' ? readWithStreamJson(input, options) : readFast(input, options);
}

/**
 * {@link readRecords} in batches: the records of each chunk read, as one array (never empty), for hot loops that
 * check or count hundreds of thousands of small records, where a `for await` step per record costs more than the
 * work done on it. Same records, places and errors as {@link readRecords}, in the same order.
 *
 * @example
 * ```ts
 * let images = 0;
 * for await (const batch of readRecordBatches('chat.json')) {
 *   for (const item of batch) if (item.ok && (item.value as { image?: unknown }).image !== undefined) images++;
 * }
 * ```
 */
export async function* readRecordBatches(
  input: InputSource,
  options: ReadOptions = {},
): AsyncGenerator<readonly ReadItem[]> {
  if (options.engine === 'stream-json') {
    let batch: ReadItem[] = [];
    for await (const item of readWithStreamJson(input, options)) {
      batch.push(item);
      if (batch.length >= 256) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  yield* readFastBatches(input, options);
}

async function* readFast(input: InputSource, options: ReadOptions): AsyncGenerator<ReadItem> {
  for await (const batch of readFastBatches(input, options)) yield* batch;
}

async function* readFastBatches(input: InputSource, options: ReadOptions): AsyncGenerator<readonly ReadItem[]> {
  const file = fileName(input, options);
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const { chunks, totalBytes } = await openSource(input, { file, chunkSize: options.chunkSize, signal });
  const scanner = new RecordScanner({
    container: options.container,
    file,
    maxRecordBytes: options.maxRecordBytes,
    maxDepth: options.maxDepth,
  });
  let bytesRead = 0;
  for await (const chunk of chunks) {
    signal?.throwIfAborted();
    bytesRead += chunk.length;
    const items = scanner.push(chunk);
    onProgress?.(bytesRead, totalBytes);
    if (items.length > 0) yield items;
    if (scanner.error) throw scanner.error;
  }
  signal?.throwIfAborted();
  const last = scanner.end();
  if (last.length > 0) yield last;
  if (scanner.error) throw scanner.error;
}

/**
 * Read only the values of a file's records, throwing a `DiagnosticError` at the first broken element (or fatal
 * problem). Use {@link readRecords} to keep going past broken elements.
 *
 * @example
 * ```ts
 * let n = 0;
 * for await (const record of readValues('chat.json')) n++;
 * ```
 */
export async function* readValues(input: InputSource, options: ReadOptions = {}): AsyncGenerator<unknown> {
  for await (const item of readRecords(input, options)) {
    if (!item.ok) throw new DiagnosticError(item.diagnostic);
    yield item.value;
  }
}

/**
 * Tell from the first bytes of a file whether it is a JSON document (`'json'`: starts with `[`, or a single
 * object spread over lines, or another JSON value) or JSON Lines (`'jsonl'`: its first line is one complete object).
 * `'unknown'` when the head is empty or does not look like JSON. A UTF-8 BOM is skipped.
 *
 * @example
 * ```ts
 * detectContainer(Buffer.from('[{"id": "1"}]')); // 'json'
 * detectContainer(Buffer.from('{"id": "1"}\n{"id": "2"}\n')); // 'jsonl'
 * ```
 */
export function detectContainer(head: Uint8Array): 'json' | 'jsonl' | 'unknown' {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= b.length) return 'unknown';
  const c = b[i]!;
  if (c === 0x5b) return 'json';
  if (c === 0x7b) {
    const nl = b.indexOf(0x0a, i);
    if (nl === -1) return 'jsonl';
    return scanDepth(b.subarray(i, nl), Number.POSITIVE_INFINITY).depth === 0 ? 'jsonl' : 'json';
  }
  if (c === 0x22 || c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) return 'json';
  return 'unknown';
}

// ------------------------------------------------------------------------------------------------ stream-json engine

const UNKNOWN_PLACE = { offset: -1, line: 0, column: 0, length: -1 } as const;

async function* readWithStreamJson(input: InputSource, options: ReadOptions): AsyncGenerator<ReadItem> {
  const file = fileName(input, options);
  const { signal } = options;
  signal?.throwIfAborted();
  const { chunks } = await openSource(input, { file, chunkSize: options.chunkSize, signal });
  const it = chunks[Symbol.asyncIterator]();
  // Gather enough of the head to decide the container (first significant byte; first line for `{`).
  let head = Buffer.alloc(0);
  let ended = false;
  for (;;) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, r.value]);
    const kind = detectContainer(head);
    if (kind === 'json' || (kind === 'jsonl' && head.includes(0x0a)) || (kind === 'unknown' && head.length > 16)) break;
  }
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) head = head.subarray(3);
  let container = options.container === 'json' || options.container === 'jsonl' ? options.container : undefined;
  const detected = detectContainer(head);
  if (
    detected === 'unknown' ||
    (container === undefined && detected === 'json' && head.toString('latin1').trimStart()[0] !== '[')
  ) {
    // Let the fast scanner word the fatal problem (empty, not JSON, not an array) exactly.
    const scanner = new RecordScanner({ container: options.container, file });
    scanner.push(head);
    if (!scanner.error) scanner.end();
    if (scanner.error) throw scanner.error;
  }
  container ??= detected === 'jsonl' ? 'jsonl' : 'json';
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    if (ended) return;
    for (;;) {
      signal?.throwIfAborted();
      const r = await it.next();
      if (r.done) return;
      // stream-json's pipeline buffers ahead, and file chunks are reused by the source: hand it a copy.
      yield Buffer.from(r.value);
    }
  }
  const BAD = Symbol('bad-line');
  // (stream-json is loaded by the runs that use it: the fast engine's reads, most of them, do not pay for it)
  const [{ default: chain }, { default: jsonlParser }, { parser }, { streamArray }] = await Promise.all([
    import('stream-chain'),
    import('stream-chain/jsonl/parser.js'),
    import('stream-json'),
    import('stream-json/streamers/stream-array.js'),
  ]);
  const steps =
    container === 'json'
      ? [Readable.from(rest()), parser(), streamArray()]
      : [
          Readable.from(rest()),
          jsonlParser({
            // whitespace-only lines are blank lines (dropped), as in the fast engine
            errorIndicator: (error: Error, line: string) => (line.trim() ? { [BAD]: true, error, line } : undefined),
          }),
        ];
  const pipeline = chain(steps as Parameters<typeof chain>[0]);
  let index = 0;
  try {
    for await (const out of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      const value = out.value as Record<PropertyKey, unknown> | undefined;
      const place = { index: container === 'json' ? out.key : index, ...UNKNOWN_PLACE };
      index++;
      if (value !== null && typeof value === 'object' && value[BAD] === true) {
        const text = String(value.line);
        yield {
          ok: false,
          diagnostic: diagnose(readerRules.jsonSyntax, {
            message: `Record #${place.index} is not valid JSON: ${(value.error as Error).message}.`,
            file,
            recordIndex: place.index,
            source: 'reader/stream-json',
          }),
          place,
          text,
        };
      } else yield { ok: true, value, place, text: JSON.stringify(value) };
    }
  } catch (e) {
    if (DiagnosticError.is(e) || (e as Error).name === 'AbortError') throw e;
    if ((e as NodeJS.ErrnoException).code) throw ioError(e, file);
    throw new DiagnosticError(
      diagnose(readerRules.jsonSyntax, {
        message: `Invalid JSON (stream-json): ${(e as Error).message}.`,
        file,
        recordIndex: index,
        source: 'reader/stream-json',
      }),
      { cause: e },
    );
  }
}
