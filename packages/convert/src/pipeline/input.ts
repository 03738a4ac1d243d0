import { stat } from 'node:fs/promises';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { DetectProbe } from '@llavakit/format';
import { type InputSource, openStreamPath, type RecordPlace, readerRules, readRecords } from '@llavakit/reader';
import { diagnosticPlace } from './place.js';

/** Bytes of a stream input kept for format detection. */
const HEAD_BYTES = 64 * 1024;

/**
 * True when an input path is read as a stream that can be opened only once: a FIFO, `<(…)` process substitution
 * (`/dev/fd/N`), a socket or a character device. Regular files, directories and missing paths are not.
 */
export async function isStreamPath(path: string): Promise<boolean> {
  if (path === '-') return true;
  try {
    const info = await stat(path);
    return !info.isFile() && !info.isDirectory();
  } catch {
    return false;
  }
}

/**
 * Open a stream input once and buffer its head: the probe for format detection is made from the buffered bytes, and
 * `input` replays them before the rest of the stream, so a FIFO or a pipe is never opened or read twice.
 */
export async function peekInput(
  path: string,
  source: InputSource,
): Promise<{ readonly probe: DetectProbe; readonly input: AsyncIterable<Buffer> }> {
  // Node streams are async iterables; so are the iterables the reader accepts.
  const stream = (
    typeof source === 'string' ? openStreamPath(source, { chunkSize: HEAD_BYTES }) : source
  ) as AsyncIterable<Buffer | string>;
  const iterator = stream[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < HEAD_BYTES) {
    const step = await iterator.next();
    if (step.done) {
      done = true;
      break;
    }
    const chunk = typeof step.value === 'string' ? Buffer.from(step.value, 'utf8') : Buffer.from(step.value);
    head.push(chunk);
    size += chunk.length;
  }
  const bytes = Buffer.concat(head);
  const values: unknown[] = [];
  try {
    for await (const item of readRecords(once(bytes), { file: path })) {
      if (item.ok) values.push(item.value);
      if (values.length >= 5 || item.place.index >= 20) break;
    }
  } catch {
    // A head cut mid-record, or not JSON: the reader reports it when the input is read.
  }
  async function* replay(): AsyncGenerator<Buffer> {
    if (bytes.length > 0) yield bytes;
    if (done) return;
    for (;;) {
      const step = await iterator.next();
      if (step.done) return;
      yield typeof step.value === 'string' ? Buffer.from(step.value, 'utf8') : Buffer.from(step.value);
    }
  }
  return {
    probe: { path, head: bytes.toString('utf8', 0, Math.min(bytes.length, HEAD_BYTES)), values },
    input: replay(),
  };
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/**
 * The source to read an input path from, opened at most once: standard input for `-` (`stdin`, default
 * `process.stdin`), the path itself for a file; with `peek`, a FIFO or `<(…)` is opened here and its probe made from
 * its buffered head ({@link peekInput}), which the returned source replays.
 */
export async function sourceOfPath(
  file: string,
  options: { readonly stdin?: InputSource | undefined; readonly peek: boolean },
): Promise<{ readonly input: InputSource; readonly probe?: DetectProbe }> {
  if (file === '-') return { input: options.stdin ?? process.stdin };
  if (!options.peek || !(await isStreamPath(file))) return { input: file };
  return peekInput(file, file);
}

/**
 * The records of a file wrapped in one object (`{"data": [{…}, …]}`, `{"train": […]}`): the first value read is an
 * object without record fields whose member holds an array of objects. Throws the `json/not-array` diagnostic
 * that says so, naming the key; returns quietly otherwise.
 */
export function refuseWrappedRecords(value: unknown, file: string, place: RecordPlace): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const record = value as Record<string, unknown>;
  if ('conversations' in record || 'messages' in record || 'id' in record) return;
  const key = Object.keys(record).find((k) => {
    const member = record[k];
    return Array.isArray(member) && member.length > 0 && typeof member[0] === 'object' && member[0] !== null;
  });
  if (key === undefined) return;
  throw new DiagnosticError(
    diagnose(readerRules.jsonNotArray, {
      message: `The file is one JSON object with ${count(record[key] as unknown[])} under "${key}", not an array of records or JSON Lines. Extract them first, e.g. \`jq '.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `["${key}"]`}' ${file}\`.`,
      file,
      place: diagnosticPlace(place),
      pointer: `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      source: 'reader',
    }),
  );
}

function count(list: readonly unknown[]): string {
  return `${list.length} record${list.length === 1 ? '' : 's'}`;
}
