import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, lstat, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { type DiagnosticError, makeDirectory, temporaryPathFor } from '@llavakit/diagnostics';
import { liveTemporaries, track } from './temporaries.js';
import { writeFailure } from './write-failure.js';

export { removeTemporaryFiles } from './temporaries.js';
export { writeFailure } from './write-failure.js';

/**
 * A text output that streams with backpressure and appears atomically: for regular files, the bytes go to a
 * temporary file beside the target, renamed over it by {@link TextSink.close}; {@link TextSink.abort} removes the
 * temporary file and leaves any earlier target untouched. A target that is not a regular file (`/dev/null`,
 * `/dev/stdout`, a FIFO, a character device) is written into directly and never replaced; a symbolic link is
 * written through (the temporary file goes beside the file it points at, which is replaced).
 *
 * Every failure (full disk, read-only target, a directory as target, a closed pipe) rejects with a
 * `DiagnosticError` of rule `output/write-failed` that names the target as the user gave it, never the temporary
 * name; the temporary file is removed.
 */
export interface TextSink {
  /** Queue text; resolves when it is safe to write more (respecting the stream's backpressure). */
  write(text: string): Promise<void> | undefined;
  /** Queue bytes that are already UTF-8 (e.g. encoded by a worker thread); they are copied: the caller may reuse them. */
  writeBytes(bytes: Uint8Array): Promise<void> | undefined;
  /**
   * Flush and end the stream, so every write error shows here, without putting the file in place yet (for outputs
   * committed together: finish all, then close all). `close` finishes first when needed.
   */
  finish(): Promise<void>;
  /** Flush, and for files rename the temporary file into place. */
  close(): Promise<void>;
  /** Discard what was written (files only; standard output and devices cannot be taken back). */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  /** The target as the user named it (`-` for standard output). */
  readonly target: string;
}

/** Options of {@link openTextSink}. */
export interface SinkOptions {
  /** Bytes buffered before a write is issued. Default 1 MiB. */
  readonly bufferBytes?: number;
  /** Stream to use for `-` (default: `process.stdout`). */
  readonly stdout?: Writable;
  /** What the file is, for messages: `Cannot write the <what> <path>` (default `output`). */
  readonly what?: string;
}

/** Set on `process.stdout` while a sink writes to it (`Symbol.for('llavakit.sink')`). */
export const SINK_MARK = Symbol.for('llavakit.sink');

/** How a path is written: replaced through a temporary file beside `real`, or written into directly. */
type Plan = { readonly mode: 'replace'; readonly real: string; readonly mode0?: number } | { readonly mode: 'direct' };

/**
 * Decide how to write a path: a new file or a regular file is replaced atomically (through symbolic links: beside
 * the real file); anything else that exists and is not a directory is written into.
 */
async function planTarget(path: string): Promise<Plan> {
  let info: import('node:fs').Stats | undefined;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw error;
    const link = await lstat(path).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      throw Object.assign(new Error('it is a symbolic link to a file that does not exist'), { code: 'ENOENT' });
    }
  }
  if (!info) {
    await makeDirectory(dirname(path));
    return { mode: 'replace', real: path };
  }
  if (info.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
  if (!info.isFile()) return { mode: 'direct' };
  return { mode: 'replace', real: await realpath(path), mode0: info.mode & 0o7777 };
}

/**
 * Open a sink for a path, or standard output for `-`. See {@link TextSink} for what happens with devices, FIFOs,
 * symbolic links and errors.
 *
 * @example
 * ```ts
 * const sink = await openTextSink('out.jsonl');
 * await sink.write('{"a":1}\n');
 * await sink.close(); // out.jsonl appears only now
 * ```
 */
export async function openTextSink(path: string, options: SinkOptions = {}): Promise<TextSink> {
  const what = options.what ?? 'output';
  if (path === '-') return new StreamSink(options.stdout ?? process.stdout, options.bufferBytes, path, undefined, what);
  // The process's own standard streams by name: write to them (opening /dev/stdout fails when it is a socket).
  const own = /^\/(?:dev\/(stdout|stderr)|dev\/fd\/([12])|proc\/self\/fd\/([12]))$/.exec(path);
  if (own) {
    const stream = own[1] === 'stderr' || own[2] === '2' || own[3] === '2' ? process.stderr : process.stdout;
    return new StreamSink(
      options.stdout && stream === process.stdout ? options.stdout : stream,
      options.bufferBytes,
      path,
      undefined,
      what,
    );
  }
  let temporary: string | undefined;
  try {
    const plan = await planTarget(path);
    const highWaterMark = 4 * (options.bufferBytes ?? 1 << 20);
    if (plan.mode === 'direct') {
      const stream = createWriteStream(path, { flags: 'w', highWaterMark });
      await opened(stream);
      return new StreamSink(stream, options.bufferBytes, path, undefined, what);
    }
    temporary = temporaryPathFor(plan.real);
    track(temporary);
    // A few buffers may be queued, so encoding goes on while the previous chunk is being written.
    const stream = createWriteStream(temporary, { flags: 'wx', highWaterMark });
    await opened(stream);
    if (plan.mode0 !== undefined) await chmod(temporary, plan.mode0).catch(() => undefined);
    return new StreamSink(stream, options.bufferBytes, path, { temporary, real: plan.real }, what);
  } catch (error) {
    if (temporary) {
      await rm(temporary, { force: true }).catch(() => undefined);
      liveTemporaries.delete(temporary);
    }
    throw writeFailure(path, error, what);
  }
}

function opened(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
}

class StreamSink implements TextSink {
  // Text is UTF-8 encoded straight into a buffer (no intermediate joined string), written out when full.
  #buffer: Buffer;
  #free: Buffer[] = [];
  #used = 0;
  #bytes = 0;
  #error: DiagnosticError | undefined;
  #closed = false;
  #finished = false;
  #committed = false;

  constructor(
    private readonly stream: Writable,
    private readonly limit = 1 << 20,
    readonly target: string,
    private readonly file: { temporary: string; real: string } | undefined,
    private readonly what = 'output',
  ) {
    this.#buffer = Buffer.allocUnsafe(Math.max(limit, 64));
    // The listener stays for the life of the stream: a late EPIPE on standard output is recorded, never thrown. The
    // mark tells a process-wide EPIPE guard (the CLI's) that this sink reports the failure itself.
    if (stream === process.stdout) (stream as unknown as Record<symbol, boolean>)[SINK_MARK] = true;
    stream.on('error', (error: Error) => {
      this.#error ??= writeFailure(target, error, what);
    });
  }

  get bytesWritten(): number {
    return this.#bytes + this.#used;
  }

  write(text: string): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed)
      return Promise.reject(writeFailure(this.target, new Error('the output was already closed'), this.what));
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (text.length * 3 <= this.#buffer.length - this.#used) {
      this.#used += this.#buffer.write(text, this.#used, 'utf8');
      return this.#used >= this.limit ? this.#flush() : undefined;
    }
    const flushed = this.#flush();
    if (text.length * 3 <= this.#buffer.length) {
      this.#used += this.#buffer.write(text, this.#used, 'utf8');
      return flushed;
    }
    // Larger than the whole buffer: hand it to the stream as its own chunk.
    const chunk = Buffer.from(text, 'utf8');
    this.#bytes += chunk.length;
    const direct = this.#send(chunk);
    if (!flushed) return direct;
    return direct ? Promise.all([flushed, direct]).then(() => undefined) : flushed;
  }

  writeBytes(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed)
      return Promise.reject(writeFailure(this.target, new Error('the output was already closed'), this.what));
    // Copied into the sink's own buffers (which cycle): the caller may reuse `bytes` at once, and large outputs
    // do not hand the stream a fresh block per call (freed late, such blocks keep the process's memory high).
    let pending: Promise<void>[] | undefined;
    for (let offset = 0; offset < bytes.length; ) {
      const n = Math.min(this.#buffer.length - this.#used, bytes.length - offset);
      this.#buffer.set(offset === 0 && n === bytes.length ? bytes : bytes.subarray(offset, offset + n), this.#used);
      this.#used += n;
      offset += n;
      if (this.#used >= this.limit || this.#used === this.#buffer.length) {
        const flushed = this.#flush();
        if (flushed) (pending ??= []).push(flushed);
      }
    }
    if (!pending) return undefined;
    return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
  }

  #flush(): Promise<void> | undefined {
    if (this.#used === 0) return undefined;
    const full = this.#buffer;
    const chunk = full.subarray(0, this.#used);
    this.#bytes += this.#used;
    // Buffers come back to the pool once the stream has written them, so a conversion cycles through a few
    // buffers instead of allocating one per flush (external memory is collected late by V8).
    this.#buffer = this.#free.pop() ?? Buffer.allocUnsafe(full.length);
    this.#used = 0;
    return this.#send(chunk, () => {
      if (this.#free.length < 4) this.#free.push(full);
    });
  }

  #send(chunk: Buffer, written?: () => void): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
    const ok = written
      ? this.stream.write(chunk, (error) => {
          if (!error) written();
        })
      : this.stream.write(chunk);
    if (ok) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        this.stream.off('drain', onDrain);
        reject(writeFailure(this.target, error, this.what));
      };
      this.stream.once('drain', onDrain);
      this.stream.once('error', onError);
    });
  }

  async finish(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#flush();
      this.#closed = true;
      if (this.#error) throw this.#error;
      if (this.file || (this.stream !== process.stdout && this.stream !== process.stderr && 'close' in this.stream)) {
        // A file, device or FIFO opened by the sink: end it, so a write error of the last bytes is seen here.
        await new Promise<void>((resolve, reject) => {
          this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
        });
        if (this.#error) throw this.#error;
      } else {
        await new Promise<void>((resolve, reject) => {
          if (this.#error) reject(this.#error);
          else if (this.stream.writableNeedDrain) {
            this.stream.once('drain', () => resolve());
            this.stream.once('error', (error: Error) => reject(writeFailure(this.target, error, this.what)));
          } else resolve();
        });
      }
      this.#finished = true;
    } catch (error) {
      this.#closed = true;
      this.#committed = true;
      await this.#discard();
      throw writeFailure(this.target, error, this.what);
    }
  }

  async close(): Promise<void> {
    if (!this.#closed) await this.finish();
    if (this.#committed || !this.#finished) return;
    this.#committed = true;
    if (!this.file) return;
    try {
      await rename(this.file.temporary, this.file.real);
      liveTemporaries.delete(this.file.temporary);
    } catch (error) {
      await this.#discard();
      throw writeFailure(this.target, error, this.what);
    }
  }

  async abort(): Promise<void> {
    if (this.#committed) return;
    this.#closed = true;
    this.#committed = true;
    this.#used = 0;
    await this.#discard();
  }

  async #discard(): Promise<void> {
    if (!this.file) {
      if (this.stream !== process.stdout && this.stream !== process.stderr && 'close' in this.stream) {
        this.stream.destroy();
      }
      return;
    }
    this.stream.destroy();
    await rm(this.file.temporary, { force: true }).catch(() => undefined);
    liveTemporaries.delete(this.file.temporary);
  }
}

/**
 * Write a whole text file through {@link openTextSink}: atomically for regular files (temporary file beside the
 * target, renamed when complete), into devices and FIFOs directly. Any failure is an `output/write-failed`
 * `DiagnosticError` naming `path`; nothing is left at the target and no temporary file remains.
 *
 * @example
 * ```ts
 * await writeTextFile('missing.tsv', lines); // lines: string or strings
 * ```
 */
export async function writeTextFile(
  path: string,
  text: string | Iterable<string>,
  options: SinkOptions = {},
): Promise<void> {
  const sink = await openTextSink(path, options);
  try {
    for (const part of typeof text === 'string' ? [text] : text) await sink.write(part);
    await sink.close();
  } catch (error) {
    await sink.abort();
    throw writeFailure(path, error, options.what);
  }
}
