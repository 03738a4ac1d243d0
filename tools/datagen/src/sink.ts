/**
 * A buffered, backpressure-aware text sink over a file write stream: strings are UTF-8 encoded straight into a
 * large Buffer; full buffers are handed to the stream, and when the stream's queue is full the next `write`
 * waits for `drain`.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

export class TextSink {
  private readonly stream: WriteStream;
  private buf: Buffer;
  private pos = 0;
  /** Bytes handed to the stream so far. */
  bytes = 0;

  /** @param bufferBytes size of each encoded chunk handed to the stream (default 4 MiB). */
  constructor(path: string, bufferBytes = 4 << 20) {
    this.stream = createWriteStream(path, { highWaterMark: 4 * bufferBytes });
    this.buf = Buffer.allocUnsafe(bufferBytes);
  }

  /** Queues text; resolves immediately unless the stream needs to drain. */
  async write(text: string): Promise<void> {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (this.pos + text.length * 3 > this.buf.length) {
      await this.flush();
      if (text.length * 3 > this.buf.length) {
        const big = Buffer.from(text, 'utf8');
        this.bytes += big.length;
        if (!this.stream.write(big)) await once(this.stream, 'drain');
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  private async flush(): Promise<void> {
    if (this.pos === 0) return;
    const out = this.buf.subarray(0, this.pos);
    this.bytes += this.pos;
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.pos = 0;
    if (!this.stream.write(out)) await once(this.stream, 'drain');
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'close');
  }

  /** Closes the file after an error without flushing. */
  destroy(): void {
    this.stream.destroy();
  }
}
