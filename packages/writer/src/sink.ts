import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

/**
 * A text output that streams with backpressure and appears atomically: for files, the bytes go to a temporary file
 * beside the target, renamed over it by {@link TextSink.close}; {@link TextSink.abort} removes the temporary file
 * and leaves any earlier target untouched.
 */
export interface TextSink {
  /** Queue text; resolves when it is safe to write more (respecting the stream's backpressure). */
  write(text: string): Promise<void> | undefined;
  /** Flush, and for files rename the temporary file into place. */
  close(): Promise<void>;
  /** Discard what was written (files only; standard output cannot be taken back). */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly bytesWritten: number;
}

/** Options of {@link openTextSink}. */
export interface SinkOptions {
  /** Bytes buffered before a write is issued. Default 1 MiB. */
  readonly bufferBytes?: number;
  /** Stream to use for `-` (default: `process.stdout`). */
  readonly stdout?: Writable;
}

/**
 * Open a sink for a path, or standard output for `-`.
 *
 * @example
 * ```ts
 * const sink = await openTextSink('out.jsonl');
 * await sink.write('{"a":1}\n');
 * await sink.close(); // out.jsonl appears only now
 * ```
 */
export async function openTextSink(path: string, options: SinkOptions = {}): Promise<TextSink> {
  if (path === '-') return new StreamSink(options.stdout ?? process.stdout, options.bufferBytes, undefined);
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  const temporary = join(directory, `.${basename(path)}.llava-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const stream = createWriteStream(temporary, { flags: 'wx' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return new StreamSink(stream, options.bufferBytes, { temporary, target: path });
}

class StreamSink implements TextSink {
  #parts: string[] = [];
  #pending = 0;
  #bytes = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(
    private readonly stream: Writable,
    private readonly limit = 1 << 20,
    private readonly file: { temporary: string; target: string } | undefined,
  ) {
    stream.on('error', (error: Error) => {
      this.#error ??= error;
    });
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  write(text: string): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= this.limit) return this.#flush();
    return undefined;
  }

  #flush(): Promise<void> | undefined {
    if (this.#parts.length === 0) return undefined;
    const chunk = this.#parts.length === 1 ? this.#parts[0]! : this.#parts.join('');
    this.#parts = [];
    this.#pending = 0;
    const buffer = Buffer.from(chunk, 'utf8');
    this.#bytes += buffer.length;
    if (this.stream.write(buffer)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        this.stream.off('drain', onDrain);
        reject(error);
      };
      this.stream.once('drain', onDrain);
      this.stream.once('error', onError);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#flush();
    this.#closed = true;
    if (this.#error) throw this.#error;
    if (this.file) {
      await new Promise<void>((resolve, reject) => {
        (this.stream as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
      await rename(this.file.temporary, this.file.target);
    } else {
      await new Promise<void>((resolve) => {
        if (this.stream.writableNeedDrain) this.stream.once('drain', () => resolve());
        else resolve();
      });
    }
  }

  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#parts = [];
    if (this.file) {
      this.stream.destroy();
      await rm(this.file.temporary, { force: true });
    }
  }
}
