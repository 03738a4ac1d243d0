import { containerFromPath, type FormatRegistry, openTextSink, type TextSink, writerRules } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { type Container, canWrite, type FormatPlugin, formatRules, type RecordContext } from '@llavakit/format';
import type { LlavaRecord } from '@llavakit/schema';
import { NO_IMAGES, parseFormatOptions } from './format-context.js';

/**
 * An output of records in a format (default `llava`), written atomically through `openTextSink`: nothing appears
 * at the path until {@link RecordOutput.close}.
 */
export class RecordOutput {
  #sink: TextSink | undefined;
  #context: RecordContext<object>;
  #written = 0;

  private constructor(
    readonly path: string,
    private readonly format: FormatPlugin<object>,
    private readonly container: Container,
    options: object,
  ) {
    this.#context = { options, file: path, index: 0, report: () => {}, count: () => {}, images: NO_IMAGES };
  }

  /** Records written so far. */
  get written(): number {
    return this.#written;
  }

  /** The output format's name. */
  get formatName(): string {
    return this.format.name;
  }

  /**
   * Open an output (the format is checked now; the file is created on the first write or at close).
   * Throws a `DiagnosticError` (`format/unknown`) for a format that cannot be written record by record.
   */
  static open(
    path: string,
    options: {
      readonly registry: FormatRegistry;
      readonly to?: string;
      readonly container?: Container;
      readonly formatOptions?: Readonly<Record<string, unknown>>;
    },
  ): RecordOutput {
    const name = options.to ?? 'llava';
    const entry = options.registry.get(name);
    if (!entry || !canWrite(entry.format) || !entry.format.encode) {
      throw new DiagnosticError(
        diagnose(formatRules.unknownFormat, {
          message: !entry
            ? `No format named "${name}".`
            : `Format "${name}" cannot be written record by record; write llava and run \`llava convert\`.`,
        }),
      );
    }
    const container = options.container ?? containerFromPath(path) ?? entry.format.defaultContainer ?? 'json';
    return new RecordOutput(path, entry.format, container, parseFormatOptions(entry.format, options.formatOptions));
  }

  /**
   * Encode and write one record; returns the diagnostics when the format cannot encode it (nothing written).
   * `text`, the record's JSON as read, is written as is when the format leaves the record unchanged (`llava`
   * without options) and the container allows it (JSON Lines need it on one line): the record exactly as read,
   * without serialising it again.
   */
  async write(
    record: LlavaRecord,
    file: string,
    index: number,
    text?: string,
  ): Promise<readonly Diagnostic[] | undefined> {
    const context = this.#context as { file: string; index: number };
    context.file = file;
    context.index = index;
    let result: Awaited<ReturnType<NonNullable<FormatPlugin<object>['encode']>>>;
    try {
      result = await this.format.encode!(record, this.#context);
    } catch (error) {
      // A plugin that throws rejects the record; it cannot take the operation down.
      return [
        diagnose(writerRules.encodeFailed, {
          message: `Format "${this.format.name}" threw: ${error instanceof Error ? error.message : String(error)}`,
          file,
          recordIndex: index,
          source: this.format.name,
          ...(record.id !== undefined ? { recordId: record.id } : {}),
        }),
      ];
    }
    if (!result.ok) return result.diagnostics;
    const json =
      text !== undefined && result.value === record && (this.container === 'json' || !text.includes('\n'))
        ? text
        : JSON.stringify(result.value);
    this.#sink ??= await openTextSink(this.path);
    // The layout of JsonValueWriter: one element per line in arrays, one per line in JSON Lines.
    const head = this.container === 'jsonl' ? '' : this.#written === 0 ? '[\n' : ',\n';
    const tail = this.container === 'jsonl' ? '\n' : '';
    const pending = this.#sink.write(head + json + tail);
    if (pending) await pending;
    this.#written++;
    return undefined;
  }

  /** Complete the output: it appears at its path (an empty container when nothing was written). */
  async close(): Promise<void> {
    this.#sink ??= await openTextSink(this.path);
    if (this.container === 'json') await this.#sink.write(this.#written === 0 ? '[]\n' : '\n]\n');
    await this.#sink.close();
  }

  /** Discard the output; an earlier file at the path is left untouched. */
  async abort(): Promise<void> {
    await this.#sink?.abort();
  }
}

/** The rejects file: one JSON line per record not written (`{file, index, diagnostics, record | text}`). */
export class RejectsOutput {
  #sink: TextSink | undefined;

  constructor(readonly path: string | undefined) {}

  /** Add one rejected record. */
  async add(
    file: string,
    index: number,
    diagnostics: readonly Diagnostic[],
    record?: unknown,
    text?: string,
  ): Promise<void> {
    if (!this.path) return;
    this.#sink ??= await openTextSink(this.path);
    const line = JSON.stringify({ file, index, diagnostics, ...(record !== undefined ? { record } : { text }) });
    const pending = this.#sink.write(`${line}\n`);
    if (pending) await pending;
  }

  /** Complete the file (created empty when nothing was rejected, so a stale one is never left behind). */
  async close(): Promise<void> {
    if (!this.path) return;
    this.#sink ??= await openTextSink(this.path);
    await this.#sink.close();
  }

  /** Discard it. */
  async abort(): Promise<void> {
    await this.#sink?.abort();
  }
}
