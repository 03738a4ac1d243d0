import { open } from 'node:fs/promises';
import { type Diagnostic, DiagnosticError, diagnose, summarize } from '@llavakit/diagnostics';
import {
  type Container,
  canRead,
  canWrite,
  type DetectProbe,
  type FormatContext,
  type FormatPlugin,
  type FormatRegistry,
  formatRules,
  type ImageAccess,
  type ReadResult,
  type RecordContext,
  type SourceRecord,
} from '@llavakit/format';
import { type InputSource, joinMetadata, type ReadItem, readRecords } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';
import { containerFromPath, JsonValueWriter } from './container.js';
import { createImageExtractor, type ExtractImagesOptions, type ImageExtractor } from './extract-images.js';
import { recordIdOf } from './formats/llava.js';
import { writerRules } from './rules.js';
import { openTextSink, type TextSink } from './sink.js';

/** What to do with a record that cannot be converted. */
export type OnInvalid = 'skip' | 'fail';

/** Options of {@link convert}. */
export interface ConvertOptions {
  /** Input paths (`-` for standard input). Records of all inputs go to one output, in order. */
  readonly inputs: readonly string[];
  /** Input format name; detected per input when absent. */
  readonly from?: string;
  /** Output format name. */
  readonly to: string;
  /** Output path, or `-` for standard output. */
  readonly output: string;
  /** JSON array or JSON Lines; default from the output extension, else the format's default, else `json`. */
  readonly container?: Container;
  /** The formats to choose from. */
  readonly registry: FormatRegistry;
  /** Raw option values for the formats (parsed by each format's `optionsSchema`; unknown keys ignored). */
  readonly formatOptions?: Readonly<Record<string, unknown>>;
  /** `skip` (default): reject the record and go on; `fail`: stop at the first rejected record, write nothing. */
  readonly onInvalid?: OnInvalid;
  /** Path of a JSONL file receiving every rejected record with its diagnostics. */
  readonly rejects?: string;
  /** Image access for path rewriting and embedding. Default: identity rewrite, no bytes. */
  readonly images?: ImageAccess;
  /**
   * Extra record checks run before encoding (e.g. the validation rules, image lookups): an `error` rejects the record,
   * other findings are reported as notes. Throwing a `DiagnosticError` rejects the record and stops the conversion
   * (nothing is written).
   */
  readonly check?: (source: SourceRecord) => readonly Diagnostic[] | Promise<readonly Diagnostic[]>;
  /** Called for each rejected record, with its reasons (they also go to the rejects file). */
  readonly onReject?: (rejection: { file: string; index: number; diagnostics: readonly Diagnostic[] }) => void;
  /** Called for each diagnostic that does not reject a record. */
  readonly onDiagnostic?: (diagnostic: Diagnostic) => void;
  /** Progress: bytes read of the current input, its size, and records read so far. */
  readonly onProgress?: (progress: ConvertProgress) => void;
  /**
   * Attach metadata records (CC-3M `metadata.json`, `blip_laion_cc_sbu_558k_meta.json`) to the input records,
   * matched by image (and id when both have one), under `key` (default `metadata`). Records without metadata are
   * counted (`metadata:missing`) and reported as info diagnostics.
   */
  readonly metadata?: { readonly path: string; readonly key?: string; readonly matchIds?: boolean };
  /**
   * Write the images that come embedded in the input (e.g. Hugging Face Parquet) into this folder and point the
   * records at them (names made safe and unique); the folder's new files appear only when the conversion succeeds.
   * Without it, embedded images still reach writers that read bytes (`openai` with embedding, `parquet`).
   */
  readonly extractImages?: ExtractImagesOptions;
  /** Standard input, when an input is `-` (default `process.stdin`). */
  readonly stdin?: InputSource;
  /** Aborts the conversion; the output file is not created. */
  readonly signal?: AbortSignal;
}

/** Progress of a conversion. */
export interface ConvertProgress {
  readonly file: string;
  readonly bytesRead: number;
  readonly totalBytes?: number;
  readonly records: number;
}

/** Per-input part of a {@link ConvertSummary}. */
export interface InputSummary {
  readonly file: string;
  readonly format: string;
  read: number;
  written: number;
  rejected: number;
}

/** What a conversion did. `read === written + rejected` always holds. */
export interface ConvertSummary {
  readonly from: string[];
  readonly to: string;
  readonly output: string;
  readonly container: Container | undefined;
  readonly inputs: InputSummary[];
  read: number;
  written: number;
  rejected: number;
  /** Named event counts reported by the formats (e.g. `images:repeated-per-token`). */
  readonly counts: Record<string, number>;
  /** What the target format cannot hold. */
  readonly limitations: readonly string[];
  /** Diagnostics by severity (rejections and notes). */
  readonly diagnostics: { error: number; warning: number; info: number };
  /** Rejected records by rule id. */
  readonly rejectedByRule: Record<string, number>;
  /** True when the conversion stopped (fatal input error, or `onInvalid: 'fail'`); the output was not written. */
  failed: boolean;
  /** The diagnostic that stopped the conversion. */
  fatal?: Diagnostic;
  durationMs: number;
}

const IDENTITY_IMAGES: ImageAccess = { rewrite: (path) => path, readBytes: async () => undefined };

/**
 * Convert records from one format to another, streaming in constant memory. Every input record is either written or
 * rejected (to the rejects file, with its diagnostics); the output appears atomically when complete.
 *
 * @example
 * ```ts
 * const summary = await convert({ inputs: ['llava_instruct_150k.json'], to: 'sharegpt', output: 'out.json', registry: builtinRegistry() });
 * console.log(summary.read, summary.written, summary.rejected);
 * ```
 */
export async function convert(options: ConvertOptions): Promise<ConvertSummary> {
  const started = performance.now();
  const target = options.registry.get(options.to);
  if (!target || !canWrite(target.format)) {
    throw new DiagnosticError(
      diagnose(formatRules.unknownFormat, {
        message: target
          ? `Format "${options.to}" cannot write.`
          : `No format named "${options.to}". Known: ${options.registry
              .list()
              .filter((f) => canWrite(f.format))
              .map((f) => f.format.name)
              .join(', ')}.`,
      }),
    );
  }
  const targetFormat = target.format;
  const container =
    options.container ?? containerFromPath(options.output) ?? targetFormat.defaultContainer ?? ('json' as Container);
  const counts: Record<string, number> = {};
  const diagnosticCounts = { error: 0, warning: 0, info: 0 };
  const rejectedByRule: Record<string, number> = {};
  const summary: ConvertSummary = {
    from: [],
    to: targetFormat.name,
    output: options.output,
    container,
    inputs: [],
    read: 0,
    written: 0,
    rejected: 0,
    counts,
    limitations: targetFormat.limitations ?? [],
    diagnostics: diagnosticCounts,
    rejectedByRule,
    failed: false,
    durationMs: 0,
  };
  const note = (d: Diagnostic) => {
    diagnosticCounts[d.severity]++;
    options.onDiagnostic?.(d);
  };
  const count = (event: string, by = 1) => {
    counts[event] = (counts[event] ?? 0) + by;
  };
  const hostImages = options.images ?? IDENTITY_IMAGES;
  // The embedded images of the record being converted are answered first (then the configured sources).
  let currentEmbedded: SourceRecord['embedded'];
  let embeddedRecords = 0;
  let embeddedReads = 0;
  const images: ImageAccess = {
    rewrite: (path) => hostImages.rewrite(path),
    readBytes: async (path) => {
      const bytes = currentEmbedded?.get(path);
      if (bytes) {
        embeddedReads++;
        return bytes;
      }
      return hostImages.readBytes(path);
    },
  };
  const extractor: ImageExtractor | undefined = options.extractImages
    ? createImageExtractor(options.extractImages)
    : undefined;
  const targetOptions = parseOptions(targetFormat, options.formatOptions);

  let rejectsSink: TextSink | undefined;
  let rejectsCount = 0;
  let rejectsChain: Promise<void> = Promise.resolve();
  const rejectRecord = (
    input: InputSummary,
    index: number,
    diagnostics: readonly Diagnostic[],
    value: unknown,
    text?: string,
  ) => {
    summary.rejected++;
    input.rejected++;
    options.onReject?.({ file: input.file, index, diagnostics });
    for (const d of diagnostics) {
      diagnosticCounts[d.severity]++;
      if (d.severity === 'error') rejectedByRule[d.ruleId] = (rejectedByRule[d.ruleId] ?? 0) + 1;
    }
    if (options.rejects) {
      const rejectsPath = options.rejects;
      const line = JSON.stringify({
        file: input.file,
        index,
        diagnostics,
        ...(value !== undefined ? { record: value } : { text }),
      });
      rejectsCount++;
      rejectsChain = rejectsChain.then(async () => {
        rejectsSink ??= await openTextSink(rejectsPath);
        await rejectsSink.write(`${line}\n`);
      });
    }
    if (options.onInvalid === 'fail' && !summary.failed) {
      summary.failed = true;
      summary.fatal = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    }
    return rejectsChain;
  };
  const stopIfFailed = () => {
    if (summary.failed) throw new StopConversion();
  };

  // Record-level targets are written by the host; stream-level targets pull records from this generator.
  const sources = async function* (): AsyncGenerator<SourceRecord> {
    for (const file of options.inputs) {
      const { format: sourceFormat } = await chooseInputFormat(file, options);
      summary.from.push(sourceFormat.name);
      const input: InputSummary = { file, format: sourceFormat.name, read: 0, written: 0, rejected: 0 };
      summary.inputs.push(input);
      const context: FormatContext<object> = {
        options: parseOptions(sourceFormat, options.formatOptions),
        file,
        report: note,
        count,
        images,
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const stream = file === '-' ? (options.stdin ?? process.stdin) : file;
      for await (const result of readWith(sourceFormat, stream, context, options)) {
        summary.read++;
        input.read++;
        if (!result.ok) {
          await rejectRecord(input, result.index, result.diagnostics, undefined, result.text);
          stopIfFailed();
          continue;
        }
        let source: SourceRecord = {
          record: result.record,
          index: result.index,
          file,
          ...(result.place ? { place: result.place } : {}),
          ...(result.embedded && result.embedded.size > 0 ? { embedded: result.embedded } : {}),
        };
        if (options.check) {
          let found: readonly Diagnostic[];
          try {
            const checked = options.check(source);
            found = Array.isArray(checked) ? (checked as readonly Diagnostic[]) : await checked;
          } catch (error) {
            if (!DiagnosticError.is(error)) throw error;
            summary.failed = true;
            summary.fatal = error.diagnostic;
            await rejectRecord(input, result.index, [error.diagnostic], result.record);
            throw new StopConversion();
          }
          if (found.some((d) => d.severity === 'error')) {
            await rejectRecord(input, result.index, found, result.record);
            stopIfFailed();
            continue;
          }
          for (const d of found) note(d);
        }
        if (source.embedded) {
          embeddedRecords++;
          if (extractor) source = await extractor.extract(source);
        }
        currentInput = input;
        currentEmbedded = source.embedded;
        yield source;
      }
    }
  };
  let currentInput: InputSummary | undefined;
  // A stream-level writer may hold records back (a Parquet row group): count each against the input it came from.
  const inputOf = (source?: SourceRecord) =>
    (source && summary.inputs.findLast((input) => input.file === source.file)) ?? currentInput;

  const accept = (source?: SourceRecord) => {
    summary.written++;
    const input = inputOf(source);
    if (input) input.written++;
  };

  let writer: JsonValueWriter | undefined;
  const encodeContext: Mutable<RecordContext<object>> = {
    options: targetOptions,
    file: '',
    index: 0,
    report: note,
    count,
    images,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  try {
    if (targetFormat.encode) {
      writer = new JsonValueWriter(await openTextSink(options.output), container);
      for await (const source of sources()) {
        // One context object per conversion, updated per record (encode is awaited before the next record).
        const context = encodeContext;
        context.file = source.file;
        context.index = source.index;
        let result: Awaited<ReturnType<NonNullable<FormatPlugin<object>['encode']>>>;
        try {
          result = await targetFormat.encode(source.record, context);
        } catch (error) {
          result = { ok: false, diagnostics: [encodeFailure(targetFormat.name, source, error)] };
        }
        if (result.ok) {
          await writer.write(result.value);
          accept();
        } else {
          await rejectRecord(currentInput!, source.index, result.diagnostics, source.record);
          stopIfFailed();
        }
      }
      await writer.close();
    } else {
      await targetFormat.write!(sources(), {
        options: targetOptions,
        file: options.output,
        output: { path: options.output, container },
        report: note,
        count,
        images,
        accept,
        reject: (source, diagnostics) => {
          void rejectRecord(inputOf(source)!, source.index, diagnostics, source.record);
        },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    stopIfFailed();
    if (extractor) {
      await extractor.commit();
      if (extractor.written > 0) count('images:extracted', extractor.written);
    } else if (targetFormat.encode && embeddedRecords > 0 && embeddedReads === 0) {
      // (A record-level target that read no embedded bytes only wrote their paths; stream-level targets get the
      // bytes on each source record and decide themselves.)
      note(
        diagnose(writerRules.embeddedImagesUnused, {
          message: `${embeddedRecords} record(s) carried embedded images that ${targetFormat.name} did not use; their paths name files that were not written.`,
        }),
      );
    }
    await rejectsChain;
    if (options.rejects) {
      rejectsSink ??= await openTextSink(options.rejects);
      await rejectsSink.close();
    }
  } catch (error) {
    await writer?.abort();
    await extractor?.abort().catch(() => undefined);
    await rejectsChain.catch(() => undefined);
    if (rejectsSink) {
      if (rejectsCount > 0) await rejectsSink.close();
      else await rejectsSink.abort();
    }
    if (error instanceof StopConversion) {
      summary.durationMs = performance.now() - started;
      return summary;
    }
    if (DiagnosticError.is(error)) {
      summary.failed = true;
      summary.fatal = error.diagnostic;
      diagnosticCounts[error.diagnostic.severity]++;
      summary.durationMs = performance.now() - started;
      return summary;
    }
    throw error;
  }
  summary.durationMs = performance.now() - started;
  return summary;
}

class StopConversion extends Error {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

async function* readWith(
  format: FormatPlugin<object>,
  input: InputSource,
  context: FormatContext<object>,
  options: ConvertOptions,
): AsyncGenerator<ReadResult> {
  if (format.read) {
    yield* format.read(input, context);
    return;
  }
  const decode = format.decode!;
  const decodeContext: Mutable<RecordContext<object>> = { ...context, index: 0 };
  let records = 0;
  const items = readRecords(input, {
    file: context.file,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress
      ? {
          onProgress: (bytesRead: number, totalBytes?: number) =>
            options.onProgress?.({
              file: context.file,
              bytesRead,
              records,
              ...(totalBytes !== undefined ? { totalBytes } : {}),
            }),
        }
      : {}),
  });
  for await (const item of options.metadata ? withMetadata(items, options.metadata, context) : items) {
    records++;
    if (!item.ok) {
      yield { ok: false, index: item.place.index, place: item.place, diagnostics: [item.diagnostic], text: item.text };
      continue;
    }
    decodeContext.index = item.place.index;
    const decoded = decode(item.value, decodeContext);
    if (decoded.ok) yield { ok: true, record: decoded.record, index: item.place.index, place: item.place };
    else {
      const id = recordIdOf(item.value);
      yield {
        ok: false,
        index: item.place.index,
        place: item.place,
        diagnostics: decoded.diagnostics.map((d) => ({
          ...d,
          place: d.place ?? { offset: item.place.offset, line: item.place.line, column: item.place.column },
          ...(id !== undefined && d.recordId === undefined ? { recordId: id } : {}),
        })),
        text: item.text,
      };
    }
  }
}

async function* withMetadata(
  items: AsyncIterable<ReadItem>,
  metadata: NonNullable<ConvertOptions['metadata']>,
  context: FormatContext<object>,
): AsyncGenerator<ReadItem> {
  const key = metadata.key ?? 'metadata';
  for await (const { item, meta } of joinMetadata(items, metadata.path, {
    file: context.file,
    ...(metadata.matchIds !== undefined ? { matchIds: metadata.matchIds } : {}),
    onDiagnostic: (d) => context.report(d),
    ...(context.signal ? { signal: context.signal } : {}),
  })) {
    if (!item.ok || typeof item.value !== 'object' || item.value === null || Array.isArray(item.value)) {
      yield item;
      continue;
    }
    if (meta) {
      context.count('metadata:attached');
      yield { ...item, value: { ...(item.value as Record<string, unknown>), [key]: meta } };
    } else {
      context.count('metadata:missing');
      yield item;
    }
  }
}

/**
 * Choose the format of an input: `--from` when given, else `detect()` over the first bytes and records of the file
 * (standard input defaults to `llava`).
 */
export async function chooseInputFormat(
  file: string,
  options: Pick<ConvertOptions, 'from' | 'registry'>,
): Promise<{ format: FormatPlugin<object> }> {
  const { registry } = options;
  if (options.from) {
    const entry = registry.get(options.from);
    if (!entry || !canRead(entry.format)) {
      throw new DiagnosticError(
        diagnose(formatRules.unknownFormat, {
          message: entry ? `Format "${options.from}" cannot read.` : `No format named "${options.from}".`,
          file,
        }),
      );
    }
    return { format: entry.format };
  }
  if (file === '-') {
    const llava = registry.get('llava');
    if (llava) return { format: llava.format };
  }
  const probe = await probeFile(file);
  const found = registry.detect(probe);
  if (!found) {
    throw new DiagnosticError(
      diagnose(formatRules.ambiguousFormat, { message: 'No known format recognises this input.', file }),
    );
  }
  return { format: found.format };
}

/** Read the head of a file and its first records, for format detection. */
export async function probeFile(file: string): Promise<DetectProbe> {
  let head = '';
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.toString('utf8', 0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    // The reader reports unreadable inputs with a proper diagnostic later.
    return { path: file, head: '', values: [] };
  }
  const values: unknown[] = [];
  try {
    for await (const item of readRecords(file, { file })) {
      if (item.ok) values.push(item.value);
      if (values.length >= 5 || item.place.index >= 20) break;
    }
  } catch {
    // Syntax errors are reported when the input is actually read.
  }
  return { path: file, head, values };
}

function parseOptions(format: FormatPlugin<object>, raw: Readonly<Record<string, unknown>> | undefined): object {
  if (!format.optionsSchema) return {};
  const shape = format.optionsSchema.shape as Record<string, unknown>;
  const relevant: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) if (raw?.[key] !== undefined) relevant[key] = raw[key];
  const parsed = format.optionsSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DiagnosticError(
      diagnose(writerRules.invalidOptions, {
        message: `Invalid option ${issue?.path.join('.') ?? ''} for format "${format.name}": ${issue?.message}`,
        hint: `Run \`llava formats ${format.name}\` to see its options.`,
      }),
    );
  }
  return parsed.data as object;
}

function encodeFailure(format: string, source: SourceRecord, error: unknown): Diagnostic {
  const id = source.record.id;
  return diagnose(writerRules.encodeFailed, {
    message: `Format "${format}" threw: ${error instanceof Error ? error.message : String(error)}`,
    file: source.file,
    recordIndex: source.index,
    source: format,
    ...(id !== undefined ? { recordId: id } : {}),
  });
}

export type { LlavaRecord };
/** Count diagnostics by severity (re-exported for CLI summaries). */
export { summarize };
