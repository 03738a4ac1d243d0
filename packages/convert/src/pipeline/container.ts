import type { Container } from '@llavakit/format';
import type { TextSink } from './sink.js';

/**
 * Pick the container from an output path: `.jsonl` / `.ndjson` → JSON Lines, `.json` → JSON array, otherwise
 * `undefined` (the caller falls back to a flag or the format's default).
 */
export function containerFromPath(path: string): Container | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  return undefined;
}

/**
 * Writes JSON values into a sink as a JSON array (one element per line, so the file streams and diffs well) or as
 * JSON Lines.
 */
export class JsonValueWriter {
  #count = 0;
  #finished = false;

  constructor(
    private readonly sink: TextSink,
    readonly container: Container,
  ) {}

  /** Number of values written. */
  get count(): number {
    return this.#count;
  }

  /** Write one value (already JSON-serialisable). */
  write(value: unknown): Promise<void> | undefined {
    return this.writeJson(JSON.stringify(value));
  }

  /** Write one value already serialised as JSON text (one line, no trailing newline). */
  writeJson(json: string): Promise<void> | undefined {
    const first = this.#count++ === 0;
    if (this.container === 'jsonl') {
      const pending = this.sink.write(json);
      return pending ? pending.then(() => this.sink.write('\n')) : this.sink.write('\n');
    }
    const pending = this.sink.write(first ? '[\n' : ',\n');
    return pending ? pending.then(() => this.sink.write(json)) : this.sink.write(json);
  }

  /**
   * Write `count` values already serialised and UTF-8 encoded, joined by the container's separator (`,\n` in an
   * array, `\n` in JSON Lines) — the same bytes as `count` calls of {@link JsonValueWriter.writeJson}.
   */
  writeEncoded(bytes: Uint8Array, count: number): Promise<void> | undefined {
    if (count === 0) return undefined;
    const first = this.#count === 0;
    this.#count += count;
    if (this.container === 'jsonl') {
      const pending = this.sink.writeBytes(bytes);
      return pending ? pending.then(() => this.sink.write('\n')) : this.sink.write('\n');
    }
    const pending = this.sink.write(first ? '[\n' : ',\n');
    return pending ? pending.then(() => this.sink.writeBytes(bytes)) : this.sink.writeBytes(bytes);
  }

  /** Close the container (`]` for arrays) and finish the sink, without putting the file in place yet. */
  async finish(): Promise<void> {
    if (!this.#finished) {
      this.#finished = true;
      if (this.container === 'json') await this.sink.write(this.#count === 0 ? '[]\n' : '\n]\n');
    }
    await this.sink.finish();
  }

  /** Close the container (`]` for arrays) and the sink. */
  async close(): Promise<void> {
    await this.finish();
    await this.sink.close();
  }

  /** Abort the sink (the target file is not created or replaced). */
  abort(): Promise<void> {
    return this.sink.abort();
  }
}
