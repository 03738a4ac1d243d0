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
  // A few buffers may be queued, so encoding goes on while the previous chunk is being written.
  const stream = createWriteStream(temporary, { flags: 'wx', highWaterMark: 4 * (options.bufferBytes ?? 1 << 20) });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return new StreamSink(stream, options.bufferBytes, { temporary, target: path });
}

class StreamSink implements TextSink {
  // Text is UTF-8 encoded straight into a buffer (no intermediate joined string), written out when full.
  #buffer: Buffer;
  #free: Buffer[] = [];
  #used = 0;
  #bytes = 0;
  #error: Error | undefined;
  #closed = false;

  constructor(
    private readonly stream: Writable,
    private readonly limit = 1 << 20,
    private readonly file: { temporary: string; target: string } | undefined,
  ) {
    this.#buffer = Buffer.allocUnsafe(Math.max(limit, 64));
    stream.on('error', (error: Error) => {
      this.#error ??= error;
    });
  }

  get bytesWritten(): number {
    return this.#bytes + this.#used;
  }

  write(text: string): Promise<void> | undefined {
    if (this.#error) return Promise.reject(this.#error);
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
    this.#used = 0;
    if (this.file) {
      this.stream.destroy();
      await rm(this.file.temporary, { force: true });
    }
  }
}
