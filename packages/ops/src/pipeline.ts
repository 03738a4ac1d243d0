import { open, stat } from 'node:fs/promises';
import {
  chooseInputFormat,
  containerFromPath,
  type FormatRegistry,
  openTextSink,
  type TextSink,
  writerRules,
} from '@llavakit/convert';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import {
  type Container,
  canWrite,
  type FormatPlugin,
  formatRules,
  type ImageAccess,
  type RecordContext,
  type RecordPlace,
} from '@llavakit/format';
import { type InputSource, readRecordBatches } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';
import { opsRules } from './rules.js';

/** One record read by an operation: a canonical record with its place, or an input that could not be read. */
export type OpItem =
  | {
      readonly ok: true;
      readonly record: LlavaRecord;
      readonly file: string;
      readonly index: number;
      readonly place?: RecordPlace;
      /** The record's JSON text as read, when the reader has it, and the format it was read with. */
      readonly text?: string;
      readonly format?: string;
    }
  | {
      readonly ok: false;
      readonly file: string;
      readonly index: number;
      readonly diagnostics: readonly Diagnostic[];
      readonly place?: RecordPlace;
      readonly text?: string;
    };

/** Progress of an operation: which pass, the current file, bytes read of it, its size, and records so far. */
export interface OpProgress {
  readonly pass: string;
  readonly file: string;
  readonly bytesRead: number;
  readonly totalBytes?: number;
  readonly records: number;
}

/** Input options shared by every operation. */
export interface InputOptions {
  /** Input paths (`-` for standard input, read once: operations that need two passes refuse it). */
  readonly inputs: readonly string[];
  /** The formats to read with (e.g. `createBuiltinRegistry()` from `@llavakit/convert`). */
  readonly registry: FormatRegistry;
  /** Input format name; detected per input when absent. */
  readonly from?: string;
  /** Raw format options (parsed by each format's schema). */
  readonly formatOptions?: Readonly<Record<string, unknown>>;
  /** Progress callback. */
  readonly onProgress?: (progress: OpProgress) => void;
  /** Aborts the operation; no output is created. */
  readonly signal?: AbortSignal;
  /** Standard input, for `-` (default `process.stdin`). */
  readonly stdin?: InputSource;
  /**
   * Only the records whose 0-based index in their input passes (a shard, see `selectShard` of `@llavakit/convert`);
   * the others are not read here (neither counted, written nor rejected). Default: every record.
   */
  readonly keepRecord?: (index: number) => boolean;
}

/** Output options shared by the operations that write records. */
export interface OutputOptions {
  /** Output path (`-` for standard output). */
  readonly output: string;
  /** Output format (default `llava`: records written as read). */
  readonly to?: string;
  /** JSON array or JSON Lines (default from the output extension, else the format's default). */
  readonly container?: Container;
  /** JSONL file receiving every record not written, with the reasons (one line per record). */
  readonly rejects?: string;
}

/** Per-input accounting. */
export interface InputCount {
  readonly file: string;
  format: string;
  read: number;
  written: number;
  rejected: number;
}

/**
 * What an operation did with the records. `read === written + rejected` always holds (each record is written to
 * one output or rejected with a reason).
 */
export interface OpSummary {
  read: number;
  written: number;
  rejected: number;
  /** Rejected records by rule id. */
  readonly rejectedByRule: Record<string, number>;
  readonly inputs: InputCount[];
  /** Records written per output path. */
  readonly outputs: Record<string, number>;
  /** True when the operation stopped at a fatal input error; nothing was written. */
  failed: boolean;
  /** The diagnostic that stopped the operation. */
  fatal?: Diagnostic;
  durationMs: number;
}

/** A new, empty {@link OpSummary}. */
export function emptySummary(): OpSummary {
  return {
    read: 0,
    written: 0,
    rejected: 0,
    rejectedByRule: {},
    inputs: [],
    outputs: {},
    failed: false,
    durationMs: 0,
  };
}

const NO_IMAGES: ImageAccess = { rewrite: (path) => path, readBytes: async () => undefined };

/** The context an input format decodes records in: its parsed options, no image access, quiet notes. */
function decodeContext(
  format: FormatPlugin<object>,
  options: {
    readonly formatOptions?: Readonly<Record<string, unknown>> | undefined;
    readonly signal?: AbortSignal | undefined;
  },
  file: string,
): RecordContext<object> {
  return {
    options: parseFormatOptions(format, options.formatOptions),
    file,
    index: 0,
    report: () => {},
    count: () => {},
    images: NO_IMAGES,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * Read the records of one input in batches (one array per chunk read), with the format chosen by `from` or
 * detected, decoded to canonical records. Broken elements come as `ok: false` items; a fatal error (unreadable
 * file, not JSON) throws a `DiagnosticError`.
 */
export async function* readInputBatches(
  file: string,
  options: Omit<InputOptions, 'inputs'> & { readonly pass?: string; readonly onFormat?: (name: string) => void },
): AsyncGenerator<OpItem[]> {
  const { format } = await chooseInputFormat(file, {
    registry: options.registry,
    ...(options.from ? { from: options.from } : {}),
  });
  options.onFormat?.(format.name);
  const context = decodeContext(format, options, file);
  const input: InputSource = file === '-' ? (options.stdin ?? process.stdin) : file;
  let records = 0;
  const pass = options.pass ?? 'read';
  if (format.read) {
    let batch: OpItem[] = [];
    for await (const result of format.read(input, context)) {
      records++;
      batch.push(
        result.ok
          ? {
              ok: true,
              record: result.record,
              file,
              index: result.index,
              ...(result.place ? { place: result.place } : {}),
            }
          : {
              ok: false,
              file,
              index: result.index,
              diagnostics: result.diagnostics,
              ...(result.place ? { place: result.place } : {}),
              ...(result.text !== undefined ? { text: result.text } : {}),
            },
      );
      if (batch.length >= 256) {
        yield batch;
        batch = [];
        options.onProgress?.({ pass, file, bytesRead: 0, records });
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  for await (const items of readRecordBatches(input, {
    file,
    // Smaller chunks than the reader default keep fewer records alive across scavenges (lower peak RSS, same speed).
    chunkSize: 256 * 1024,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (bytesRead, totalBytes) =>
      options.onProgress?.({ pass, file, bytesRead, records, ...(totalBytes !== undefined ? { totalBytes } : {}) }),
  })) {
    const batch: OpItem[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      records++;
      if (!item.ok) {
        batch[i] = {
          ok: false,
          file,
          index: item.place.index,
          diagnostics: [item.diagnostic],
          place: item.place,
          text: item.text,
        };
        continue;
      }
      batch[i] = decodeItem(format, context, item.value, file, item.place, item.text);
    }
    yield batch;
  }
}

/** Decode one parsed value with a record-level format into an {@link OpItem} (a throwing plugin rejects it). */
function decodeItem(
  format: FormatPlugin<object>,
  context: RecordContext<object>,
  value: unknown,
  file: string,
  place: RecordPlace,
  text: string | undefined,
): OpItem {
  (context as { index: number }).index = place.index;
  let decoded: ReturnType<NonNullable<FormatPlugin<object>['decode']>>;
  try {
    decoded = format.decode!(value, context);
  } catch (error) {
    decoded = {
      ok: false,
      diagnostics: [
        diagnose(writerRules.encodeFailed, {
          message: `Format "${format.name}" threw while reading: ${error instanceof Error ? error.message : String(error)}`,
          file,
          recordIndex: place.index,
          source: format.name,
          hint: 'This is a bug in the format plugin named in `source`; report it to its authors.',
        }),
      ],
    };
  }
  if (decoded.ok) {
    return {
      ok: true,
      record: decoded.record,
      file,
      index: place.index,
      place,
      format: format.name,
      ...(text !== undefined ? { text } : {}),
    };
  }
  return {
    ok: false,
    file,
    index: place.index,
    place,
    ...(text !== undefined ? { text } : {}),
    diagnostics: decoded.diagnostics.map((d) => ({
      ...d,
      place: d.place ?? { offset: place.offset, line: place.line, column: place.column },
    })),
  };
}

/**
 * Random access to the records of a file whose byte places are known (from a first pass): reads one element's
 * bytes and decodes it with the input's record-level format. `undefined` when the format reads whole streams.
 */
export async function openRecordAccess(
  file: string,
  options: Omit<InputOptions, 'inputs'>,
): Promise<{ read(place: RecordPlace): Promise<OpItem>; close(): Promise<void> } | undefined> {
  const { format } = await chooseInputFormat(file, {
    registry: options.registry,
    ...(options.from ? { from: options.from } : {}),
  });
  if (format.read || !format.decode || file === '-') return undefined;
  const context = decodeContext(format, { formatOptions: options.formatOptions }, file);
  const handle = await open(file, 'r');
  let buffer = Buffer.allocUnsafe(64 * 1024);
  return {
    async read(place) {
      if (buffer.length < place.length) buffer = Buffer.allocUnsafe(place.length);
      const { bytesRead } = await handle.read(buffer, 0, place.length, place.offset);
      const text = buffer.toString('utf8', 0, bytesRead);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new DiagnosticError(
          diagnose(opsRules.inputChanged, {
            message: `${file} changed between the two passes (record #${place.index} no longer parses: ${(error as Error).message}).`,
            file,
            recordIndex: place.index,
          }),
        );
      }
      return decodeItem(format, context, value, file, place, text);
    },
    close: () => handle.close(),
  };
}

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

/**
 * The accounting of one operation: counts reads, writes and rejections per input, writes rejections to the
 * rejects file, and completes or aborts every output together.
 */
export class Accounting {
  readonly summary: OpSummary = emptySummary();
  readonly rejects: RejectsOutput;
  readonly #started = performance.now();
  #current: InputCount | undefined;
  readonly #outputs: RecordOutput[] = [];

  constructor(rejects: string | undefined) {
    this.rejects = new RejectsOutput(rejects);
  }

  /** Register an output to be closed or aborted with the operation. */
  output(output: RecordOutput): RecordOutput {
    this.#outputs.push(output);
    this.summary.outputs[output.path] = 0;
    return output;
  }

  /** Start counting a new input. */
  beginInput(file: string): InputCount {
    this.#current = { file, format: '?', read: 0, written: 0, rejected: 0 };
    this.summary.inputs.push(this.#current);
    return this.#current;
  }

  /** Continue counting an input started earlier (for a second pass that writes). */
  resumeInput(index: number): void {
    this.#current = this.summary.inputs[index];
  }

  /**
   * Count records of the current input as rejected by a rule without writing them to the rejects file (only when
   * no rejects file was asked for: with one, every record must be written to it).
   */
  rejectUnwritten(rule: string, n: number): void {
    if (this.rejects.path) throw new Error('rejectUnwritten needs an operation without rejects file');
    if (n === 0) return;
    this.summary.rejected += n;
    this.#current!.rejected += n;
    this.summary.rejectedByRule[rule] = (this.summary.rejectedByRule[rule] ?? 0) + n;
  }

  /** Count one record read. */
  read(): void {
    this.summary.read++;
    this.#current!.read++;
  }

  /** Write a record to an output, or reject it when the format cannot encode it. */
  async write(output: RecordOutput, item: Extract<OpItem, { ok: true }>): Promise<boolean> {
    // The text as read is only worth anything in the format it was read in.
    const text = item.format === output.formatName ? item.text : undefined;
    const problems = await output.write(item.record, item.file, item.index, text);
    if (problems) {
      await this.reject(item, problems);
      return false;
    }
    this.summary.written++;
    this.#current!.written++;
    this.summary.outputs[output.path] = (this.summary.outputs[output.path] ?? 0) + 1;
    return true;
  }

  /** Reject a record (or unreadable input element) with its reasons. */
  async reject(item: OpItem, diagnostics: readonly Diagnostic[]): Promise<void> {
    this.summary.rejected++;
    this.#current!.rejected++;
    const rule = (diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0])?.ruleId ?? 'unknown';
    this.summary.rejectedByRule[rule] = (this.summary.rejectedByRule[rule] ?? 0) + 1;
    await this.rejects.add(
      item.file,
      item.index,
      diagnostics,
      item.ok ? item.record : undefined,
      item.ok ? undefined : item.text,
    );
  }

  /** Complete every output and the rejects file. */
  async finish(): Promise<OpSummary> {
    for (const output of this.#outputs) await output.close();
    await this.rejects.close();
    this.summary.durationMs = performance.now() - this.#started;
    return this.summary;
  }

  /**
   * Abort every output. A `DiagnosticError` becomes the summary's `fatal` (returned); anything else is rethrown.
   */
  async fail(error: unknown): Promise<OpSummary> {
    for (const output of this.#outputs) await output.abort().catch(() => undefined);
    await this.rejects.abort().catch(() => undefined);
    if (!DiagnosticError.is(error)) throw error;
    this.summary.failed = true;
    this.summary.fatal = error.diagnostic;
    this.summary.durationMs = performance.now() - this.#started;
    return this.summary;
  }
}

/** Attach the record's place, index, file and id to a diagnostic. */
export function locate(item: OpItem, diagnostic: Diagnostic): Diagnostic {
  const id = item.ok ? item.record.id : undefined;
  return {
    ...diagnostic,
    file: item.file,
    recordIndex: item.index,
    ...(id !== undefined ? { recordId: id } : {}),
    ...(item.place ? { place: { offset: item.place.offset, line: item.place.line, column: item.place.column } } : {}),
  };
}

/** Refuse standard input for an operation that reads its inputs twice. */
export function needFiles(inputs: readonly string[], operation: string): void {
  if (inputs.includes('-')) {
    throw usageError(`${operation} reads its inputs twice and cannot read standard input; save it to a file first.`);
  }
}

/** A usage `DiagnosticError` (exit code 2 in the CLI). */
export function usageError(message: string): DiagnosticError {
  return new DiagnosticError(diagnose(opsRules.usage, { message }));
}

/** Size of a file, or undefined. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function parseFormatOptions(format: FormatPlugin<object>, raw: Readonly<Record<string, unknown>> | undefined): object {
  if (!format.optionsSchema) return {};
  const shape = format.optionsSchema.shape as Record<string, unknown>;
  const relevant: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) if (raw?.[key] !== undefined) relevant[key] = raw[key];
  const parsed = format.optionsSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw usageError(`Invalid option ${issue?.path.join('.') ?? ''} for format "${format.name}": ${issue?.message}`);
  }
  return parsed.data as object;
}

/**
 * Run a callback over every item of every input, with the accounting's per-input bookkeeping. The callback decides
 * what happens to each item (write or reject); a `DiagnosticError` aborts every output.
 */
export async function forEachItem(
  options: InputOptions,
  accounting: Accounting | undefined,
  visit: (item: OpItem, inputIndex: number) => void | Promise<void>,
  hooks: { readonly pass?: string; readonly onInput?: (file: string, format: string, inputIndex: number) => void } = {},
): Promise<void> {
  for (let inputIndex = 0; inputIndex < options.inputs.length; inputIndex++) {
    const file = options.inputs[inputIndex]!;
    const count = accounting?.beginInput(file);
    for await (const batch of readInputBatches(file, {
      ...options,
      pass: hooks.pass ?? 'read',
      onFormat: (name) => {
        if (count) count.format = name;
        hooks.onInput?.(file, name, inputIndex);
      },
    })) {
      for (const item of batch) {
        if (options.keepRecord && !options.keepRecord(item.index)) continue;
        accounting?.read();
        const pending = visit(item, inputIndex);
        if (pending) await pending;
      }
    }
  }
}
