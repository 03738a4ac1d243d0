import { constants, createReadStream, openSync, type Stats, statSync } from 'node:fs';
import { access, type FileHandle, open, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { readerRules } from './rules.js';
import type { InputSource } from './types.js';

/** An opened input: its chunks as Buffers, and its size when it is a file. */
export interface OpenedSource {
  readonly chunks: AsyncIterable<Buffer>;
  readonly totalBytes?: number;
}

function inputError(rule: (typeof readerRules)[keyof typeof readerRules], message: string, file?: string): never {
  throw new DiagnosticError(diagnose(rule, { message, file, source: 'reader' }));
}

/** Turn an I/O error into a diagnostic error (never a bare stack). */
export function ioError(error: unknown, file?: string): DiagnosticError {
  if (DiagnosticError.is(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new DiagnosticError(
      diagnose(readerRules.inputNotFound, { message: 'The input file does not exist.', file, source: 'reader' }),
      { cause: error },
    );
  }
  if (code === 'EISDIR') {
    return new DiagnosticError(
      diagnose(readerRules.inputIsDirectory, {
        message: 'The input is a directory, not a file.',
        file,
        source: 'reader',
      }),
      { cause: error },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new DiagnosticError(
    diagnose(readerRules.inputUnreadable, {
      message: `The input cannot be read: ${detail.split('\n')[0]}`,
      file,
      source: 'reader',
      data: code ? { code } : undefined,
    }),
    { cause: error },
  );
}

/**
 * Check an input path before its format is detected, so a missing file, a directory or an unreadable file gets its
 * own diagnostic (`input/not-found`, `input/is-directory`, `input/unreadable`) instead of "no format recognises it". Resolves its `stat` (`undefined` for `-`): a FIFO, pipe or device passes.
 */
export async function checkInputPath(path: string): Promise<Stats | undefined> {
  if (path === '-') return undefined;
  const fail = (rule: (typeof readerRules)[keyof typeof readerRules], message: string, code?: string): never => {
    throw new DiagnosticError(
      diagnose(rule, { message, file: path, source: 'reader', ...(code ? { data: { code } } : {}) }),
    );
  };
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(readerRules.inputNotFound, 'The input file does not exist.');
    return fail(readerRules.inputUnreadable, `The input cannot be read: ${(error as Error).message}`, code);
  }
  if (info.isDirectory()) return fail(readerRules.inputIsDirectory, 'The input is a directory, not a file.');
  if (!info.isFile()) return info;
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(readerRules.inputUnreadable, `The input cannot be read: permission denied (${code}).`, code);
  }
  return info;
}

/**
 * Open an input for chunked reading: a path (checked first, so a missing file or a directory gives its own
 * diagnostic), `'-'` for standard input, a Node readable stream, or an async iterable of bytes.
 */
export async function openSource(
  input: InputSource,
  options: { file?: string; chunkSize?: number; signal?: AbortSignal } = {},
): Promise<OpenedSource> {
  const file = options.file;
  if (typeof input === 'string') {
    if (input === '-') return { chunks: toBuffers(process.stdin, file, options.signal) };
    let size: number;
    try {
      const st = await stat(input);
      if (st.isDirectory()) inputError(readerRules.inputIsDirectory, 'The input is a directory, not a file.', file);
      size = st.isFile() ? st.size : Number.NaN;
    } catch (e) {
      throw ioError(e, file);
    }
    if (Number.isNaN(size)) {
      // Pipes, sockets, character devices: stream them.
      const stream = openStreamPath(input, { chunkSize: options.chunkSize });
      return { chunks: toBuffers(stream, file, options.signal, () => stream.destroy()) };
    }
    return { chunks: readFileChunks(input, options.chunkSize ?? 1 << 20, file), totalBytes: size };
  }
  const iterable =
    typeof (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function'
      ? (input as AsyncIterable<Uint8Array | string>)
      : (new Readable().wrap(input as NodeJS.ReadableStream) as AsyncIterable<Uint8Array | string>);
  return { chunks: toBuffers(iterable, file, options.signal) };
}

/**
 * Open a path that is not a regular file (a FIFO, `<(…)` process substitution's `/dev/fd/N`, a character device) as
 * a readable stream.
 *
 * A FIFO or pipe is opened non-blocking and read through the event loop (a `net.Socket`), not through blocking reads
 * on libuv's thread pool: a blocking read on a pipe whose writer is idle cannot be cancelled, and Node's exit waits for
 * it — Ctrl-C or SIGTERM on `llava convert in.fifo` would hang for as long as the writer stays silent. Opening does
 * not wait for a writer either; the stream waits for one, then ends when the last writer closes, as a blocking read
 * would. Anything else (a character device) is read with `fs.createReadStream`.
 */
export function openStreamPath(path: string, options: { readonly chunkSize?: number } = {}): Readable {
  let fifo: number | undefined;
  try {
    if (statSync(path).isFIFO()) fifo = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    // As `createReadStream` does: the error comes out of the stream, not out of this call.
    const failed = new Readable({ read() {} });
    process.nextTick(() => failed.destroy(error as Error));
    return failed;
  }
  if (fifo !== undefined) return new Socket({ fd: fifo, readable: true, writable: false });
  return createReadStream(path, { highWaterMark: options.chunkSize ?? 1 << 20 });
}

/**
 * Read a regular file in chunks through three rotating buffers, so memory stays flat however large the file is. The
 * next read is already in flight while the consumer works on the current chunk (disk and CPU overlap). A chunk is
 * valid until the next one is requested: the scanner copies whatever it keeps across chunks.
 */
async function* readFileChunks(path: string, chunkSize: number, file?: string): AsyncGenerator<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw ioError(e, file);
  }
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  let position = 0;
  const readInto = (buffer: Buffer) => handle.read(buffer, 0, chunkSize, position);
  let pending: ReturnType<typeof readInto> | undefined;
  try {
    pending = readInto(buffers[0]!);
    for (let turn = 0; ; turn = (turn + 1) % 3) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await pending);
      } catch (e) {
        pending = undefined;
        throw ioError(e, file);
      }
      if (bytesRead === 0) {
        pending = undefined;
        return;
      }
      position += bytesRead;
      pending = readInto(buffers[(turn + 1) % 3]!);
      yield buffers[turn]!.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/**
 * The chunks of a stream as Buffers. With a `signal`, a wait for the next chunk ends when it is aborted (the iteration
 * throws the signal's reason and `release` frees the stream): a pipe whose writer has gone quiet never holds a run
 * that was told to stop.
 */
async function* toBuffers(
  source: AsyncIterable<Uint8Array | string>,
  file?: string,
  signal?: AbortSignal,
  release?: () => void,
): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let aborted: Promise<never> | undefined;
  let onAbort: (() => void) | undefined;
  if (signal) {
    aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    if (signal.aborted) onAbort?.();
  }
  let finished = false;
  try {
    for (;;) {
      const step = await (aborted ? Promise.race([iterator.next(), aborted]) : iterator.next());
      if (step.done) {
        finished = true;
        return;
      }
      const chunk = step.value;
      if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
      else yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (e) {
    if (signal?.aborted && e === signal.reason) throw e;
    throw ioError(e, file);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      release?.();
      // Not awaited: a read still pending (the quiet pipe) would hold the return.
      iterator.return?.()?.catch(() => undefined);
    }
  }
}
