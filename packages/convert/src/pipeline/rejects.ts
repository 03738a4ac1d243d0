import type { Diagnostic } from '@llavakit/diagnostics';
import { openTextSink, type TextSink } from './sink.js';

/** One rejected record as the rejects file holds it: where it was, why, and the record (or its text). */
export interface Rejection {
  readonly file: string;
  readonly index: number;
  readonly diagnostics: readonly Diagnostic[];
  /** The record as read (absent when it could not be parsed: then `text`). */
  readonly value: unknown;
  readonly text?: string | undefined;
}

/**
 * The rejects file of a run (`--rejects`, JSON Lines, in input order): an atomic sink opened on the first rejection
 * (or at the end, so an empty run still writes an empty file), written in order however the rejections arrive.
 */
export class RejectsFile {
  #sink: TextSink | undefined;
  #count = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(private readonly path: string | undefined) {}

  /**
   * Append a rejection; the promise settles when its line is written. `prepared` is its line already made (by a
   * worker thread, from the same fields).
   */
  add(rejection: Rejection, prepared?: string): Promise<void> {
    const path = this.path;
    if (path) {
      const line =
        prepared ??
        JSON.stringify({
          file: rejection.file,
          index: rejection.index,
          diagnostics: rejection.diagnostics,
          ...(rejection.value !== undefined ? { record: rejection.value } : { text: rejection.text }),
        });
      this.#count++;
      this.#chain = this.#chain.then(async () => {
        this.#sink ??= await openTextSink(path, { what: 'rejects file' });
        await this.#sink.write(`${line}\n`);
      });
    }
    return this.#chain;
  }

  /** Every line written and the file complete (not yet in place: see {@link close}). */
  async finish(): Promise<void> {
    await this.#chain;
    if (this.path) {
      this.#sink ??= await openTextSink(this.path, { what: 'rejects file' });
      await this.#sink.finish();
    }
  }

  /** Put the file in place (with the run's other outputs). */
  async close(): Promise<void> {
    await this.#sink?.close();
  }

  /**
   * A stopped run: keep the file (when `keep` and something was rejected) or remove it. Returns the error of
   * closing it, if any.
   */
  async settle(keep: boolean): Promise<unknown> {
    await this.#chain.catch(() => undefined);
    const sink = this.#sink;
    if (!sink) return undefined;
    if (keep && this.#count > 0) {
      try {
        await sink.close();
      } catch (closeError) {
        return closeError;
      }
      return undefined;
    }
    await sink.abort();
    return undefined;
  }
}
