import { open } from 'node:fs/promises';
import { type Diagnostic, DiagnosticError, diagnose, summarize } from '@llavakit/diagnostics';
import {
  type Container,
  type DetectProbe,
  type FormatContext,
  type FormatPlugin,
  formatRules,
  type ImageAccess,
  type ReadResult,
  type RecordContext,
  type SourceRecord,
} from '@llavakit/format';
import { type InputSource, joinMetadata, type ReadItem, readRecords } from '@llavakit/reader';
import type { LlavaRecord } from '@llavakit/schema';
import { recordIdOf } from '../formats/llava/index.js';
import { type OptionArgument, unknownOptionArguments } from '../plugins/options.js';
import type { FormatRegistry } from '../plugins/registry.js';
import { containerFromPath, JsonValueWriter } from './container.js';
import { createImageExtractor, type ExtractImagesOptions, type ImageExtractor } from './extract-images.js';
import { checkInputPath, isStreamPath, peekInput, refuseWrappedRecords } from './input.js';
import type { RunPath } from './paths.js';
import { namedFormat, parseOptions, preflight } from './preflight.js';
import { outputRules, writerRules } from './rules.js';
import { openTextSink, type TextSink } from './sink.js';
import {
  callPlugin,
  checkResult,
  type DecodeOutcome,
  decodeFailure,
  EncodeWatch,
  encodeOne,
  messageOf,
  StopConversion,
  withPlace,
} from './walls.js';

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
  /**
   * Raw option values for the target format (parsed by its `optionsSchema`; unknown keys ignored). Input formats
   * never see them: a writer's option (`imageToken: 'strip'`) is not checked against a reader's schema.
   */
  readonly formatOptions?: Readonly<Record<string, unknown>>;
  /** Raw option values for the input formats, parsed and validated by each input format's own `optionsSchema`. */
  readonly readOptions?: Readonly<Record<string, unknown>>;
  /** `--read-option key=value` arguments as typed (see `parseOptionArguments`), for the input formats only. */
  readonly readOptionArguments?: readonly OptionArgument[];
  /**
   * `-O key=value` arguments as the user typed them (see `parseOptionArguments`): coerced to each option's type, a
   * name no format of the run knows is a usage error (`options/unknown`) listing the options; `formatOptions` win.
   */
  readonly optionArguments?: readonly OptionArgument[];
  /**
   * Further files the run writes besides `output` and `rejects` (e.g. `--dataset-info`): checked, with them, to be
   * distinct files that are not inputs, before anything is written.
   */
  readonly otherOutputs?: readonly RunPath[];
  /** Allow `output` to be one of the inputs (it replaces it once the run is complete). Default false. */
  readonly allowInputOverwrite?: boolean;
  /**
   * Time limit of one asynchronous `encode` of the target format, in ms (default 60000): a record whose encode has
   * not settled by then is rejected (`format/encode-failed`), and the run goes on.
   */
  readonly encodeTimeoutMs?: number;
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
  /**
   * Read only the records whose 0-based index in their input passes (a shard, see `selectShard`); the others belong
   * to other runs and are neither read, written nor rejected here. Default: every record.
   */
  readonly keepRecord?: (index: number) => boolean;
  /**
   * Aborts the conversion (e.g. on SIGINT): no output is created or replaced, temporary files are removed, and the
   * summary fails with `run/interrupted`.
   */
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

/**
 * What a conversion did. `read === written + rejected + discarded` always holds; `discarded` is 0 unless the run
 * failed, and a failed run reports nothing as written (its output was not created).
 */
export interface ConvertSummary {
  readonly from: string[];
  readonly to: string;
  readonly output: string;
  readonly container: Container | undefined;
  readonly inputs: InputSummary[];
  read: number;
  written: number;
  rejected: number;
  /** Records that were converted but not written because the run stopped (a failed run writes no output). */
  discarded: number;
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
  const targetFormat = namedFormat(options.registry, options.to, 'write');
  // Usage errors (an unknown --from, unknown -O names, bad values, colliding paths) come before anything is written.
  const targetOptions = await preflight(options, targetFormat);
  // A record-level format is written in a JSON container (array by default); a stream-level writer owns its
  // container (tar shards, Parquet, …): it gets one only when it declares a default or one is asked for.
  const container =
    options.container ??
    containerFromPath(options.output) ??
    targetFormat.defaultContainer ??
    (targetFormat.encode ? ('json' as Container) : undefined);
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
    discarded: 0,
    counts,
    limitations: limitationsOf(targetFormat, targetOptions),
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
        rejectsSink ??= await openTextSink(rejectsPath, { what: 'rejects file' });
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
      let stream: InputSource = file === '-' ? (options.stdin ?? process.stdin) : file;
      // A FIFO or `<(…)` can be read once: detect the format from its buffered head, then read on from there.
      let probe: DetectProbe | undefined;
      await checkInputPath(file).catch(async (error: unknown) => {
        // A folder or a glob is an input only for a format that reads its own container (a Parquet folder).
        if (!(await claimedAsContainer(file, options))) throw error;
      });
      if (file !== '-' && !options.from && (await isStreamPath(file))) {
        const peeked = await peekInput(file, file);
        probe = peeked.probe;
        stream = peeked.input;
      }
      const { format: sourceFormat } = await chooseInputFormat(file, options, probe);
      summary.from.push(sourceFormat.name);
      const input: InputSummary = { file, format: sourceFormat.name, read: 0, written: 0, rejected: 0 };
      summary.inputs.push(input);
      const context: FormatContext<object> = {
        options: readerOptions(sourceFormat, options),
        file,
        report: note,
        count,
        images,
        ...(options.signal ? { signal: options.signal } : {}),
      };
      for await (const result of readWith(sourceFormat, stream, context, options)) {
        if (options.keepRecord && !options.keepRecord(result.index)) continue;
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
  const watch = new EncodeWatch(options.encodeTimeoutMs ?? 60_000, options.signal);
  try {
    if (targetFormat.encode) {
      writer = new JsonValueWriter(await openTextSink(options.output), container ?? 'json');
      for await (const source of sources()) {
        options.signal?.throwIfAborted();
        // One context object per conversion, updated per record (encode is awaited before the next record).
        const context = encodeContext;
        context.file = source.file;
        context.index = source.index;
        const encoding = encodeOne(targetFormat, source, context, watch);
        const outcome = encoding instanceof Promise ? await encoding : encoding;
        // An interruption abandons the record in flight: it is neither written nor rejected.
        if (encoding instanceof Promise) options.signal?.throwIfAborted();
        if (outcome.ok) {
          const written = writer.writeJson(outcome.json);
          if (written) await written;
          accept();
        } else {
          await rejectRecord(currentInput!, source.index, withPlace(outcome.diagnostics, source), source.record);
          stopIfFailed();
        }
      }
      await writer.finish();
    } else {
      await callPlugin(targetFormat.name, 'write', () =>
        targetFormat.write!(sources(), {
          options: targetOptions,
          file: options.output,
          output: { path: options.output, container },
          report: note,
          count,
          images,
          accept,
          reject: (source, diagnostics) => {
            void rejectRecord(inputOf(source)!, source.index, withPlace(diagnostics, source), source.record);
          },
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
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
      rejectsSink ??= await openTextSink(options.rejects, { what: 'rejects file' });
      await rejectsSink.finish();
    }
    // Every output is complete (all bytes written, every write error seen): put them in place together.
    await writer?.close();
    await rejectsSink?.close();
  } catch (caught) {
    watch.stop();
    let error = caught;
    if (options.signal?.aborted) {
      error = new DiagnosticError(
        diagnose(outputRules.interrupted, {
          message: `The conversion was interrupted${typeof options.signal.reason === 'string' ? ` (${options.signal.reason})` : ''}; no output was created or replaced.`,
          source: 'writer',
        }),
      );
    }
    await writer?.abort();
    await extractor?.abort().catch(() => undefined);
    await rejectsChain.catch(() => undefined);
    // The rejects of a run stopped by the data (--on-invalid fail, a fatal input error) are kept, to show why;
    // an interrupted run or a failed write leaves no output at all.
    const keepRejects =
      rejectsCount > 0 &&
      (error instanceof StopConversion ||
        (DiagnosticError.is(error) && !/^(output|run)\//.test(error.diagnostic.ruleId)));
    if (rejectsSink) {
      if (keepRejects) {
        try {
          await rejectsSink.close();
        } catch (closeError) {
          error = closeError;
        }
      } else await rejectsSink.abort();
    }
    if (error instanceof StopConversion) return finish(summary, started);
    if (DiagnosticError.is(error)) {
      summary.failed = true;
      summary.fatal = error.diagnostic;
      diagnosticCounts[error.diagnostic.severity]++;
      return finish(summary, started);
    }
    throw error;
  }
  watch.stop();
  return finish(summary, started);
}

/** Close a summary: its duration, and for a failed run nothing counted as written (no output was created). */
function finish(summary: ConvertSummary, started: number): ConvertSummary {
  summary.durationMs = performance.now() - started;
  if (summary.failed) {
    // Records converted (or in flight) when the run stopped reached no output.
    summary.discarded = summary.read - summary.rejected;
    summary.written = 0;
    for (const input of summary.inputs) input.written = 0;
  }
  return summary;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

async function* readWith(
  format: FormatPlugin<object>,
  input: InputSource,
  context: FormatContext<object>,
  options: ConvertOptions,
): AsyncGenerator<ReadResult> {
  if (format.read) {
    const iterator = format.read(input, context)[Symbol.asyncIterator]();
    for (;;) {
      const step = await callPlugin(format.name, 'read', () => iterator.next());
      if (step.done) return;
      yield step.value;
    }
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
    if (records === 1 && item.ok) refuseWrappedRecords(item.value, context.file, item.place);
    if (!item.ok) {
      yield { ok: false, index: item.place.index, place: item.place, diagnostics: [item.diagnostic], text: item.text };
      continue;
    }
    decodeContext.index = item.place.index;
    // Behind the wall: a decode that throws or returns a non-result rejects the record. The common case (a plain
    // `{ ok: true, record }`) is read once into locals, with no object made per record.
    let record: LlavaRecord | undefined;
    let decoded: DecodeOutcome | undefined;
    try {
      const raw = decode(item.value, decodeContext) as unknown;
      const ok = typeof raw === 'object' && raw !== null ? (raw as { ok?: unknown }).ok : undefined;
      const candidate = ok === true ? (raw as { record?: unknown }).record : undefined;
      if (typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate)) {
        record = candidate as LlavaRecord;
      } else {
        const checked = checkResult(raw, 'record');
        decoded = checked.ok
          ? checked.result
          : { ok: false, diagnostics: [decodeFailure(format.name, context.file, item.place.index, checked.reason)] };
      }
    } catch (error) {
      decoded = {
        ok: false,
        diagnostics: [decodeFailure(format.name, context.file, item.place.index, messageOf(error))],
      };
    }
    if (record) yield { ok: true, record, index: item.place.index, place: item.place };
    else if (decoded?.ok) yield { ok: true, record: decoded.record, index: item.place.index, place: item.place };
    else if (decoded) {
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
 * True when a stream-level format reads this path itself although it is not a plain file (a Hub folder of Parquet
 * shards, a glob): the format named by `from`, or the one that detection picks from the path alone.
 */
async function claimedAsContainer(file: string, options: Pick<ConvertOptions, 'from' | 'registry'>): Promise<boolean> {
  if (file === '-') return false;
  const byName = options.from ? options.registry.get(options.from)?.format : undefined;
  if (byName) return typeof byName.read === 'function';
  const ranked = options.registry.scores({ path: file, head: '', values: [] });
  const best = ranked[0];
  return best !== undefined && best.score > 0 && typeof best.entry.format.read === 'function';
}

/** A format's detection score for an input. */
export interface FormatScore {
  readonly format: string;
  readonly score: number;
}

/** How an input format was chosen. */
export interface ChosenFormat {
  readonly format: FormatPlugin<object>;
  /** `from`: named by `--from`; `detected`: the only best score; `default`: standard input or an input with no records. */
  readonly by: 'from' | 'detected' | 'default';
  /** Every readable format's score, highest first (when detected). */
  readonly scores: readonly FormatScore[];
}

/**
 * Choose the format of an input: `--from` when given, else the formats' `detect()` scores over its first records
 * (never its name). Standard input and inputs without records default to `llava`. When no format scores above 0, or
 * two share the best score, the choice is the user's: a `format/ambiguous` error names the first record and every
 * candidate with its score. A pretraining metadata file (CC-3M `metadata.json`, `_meta.json`: `image` with
 * captions or URLs, no conversations) that no format claims is an `input/metadata-file` error saying how to attach it.
 */
export async function chooseInputFormat(
  file: string,
  options: Pick<ConvertOptions, 'from' | 'registry'>,
  given?: DetectProbe,
): Promise<ChosenFormat> {
  const { registry } = options;
  if (options.from) return { format: namedFormat(registry, options.from, 'read', file), by: 'from', scores: [] };
  const llava = registry.get('llava');
  if (file === '-' && llava) return { format: llava.format, by: 'default', scores: [] };
  const probe = given ?? (await probeFile(file));
  const ranked = registry.scores(probe);
  const scores = ranked.map((r) => ({ format: r.entry.format.name, score: r.score }));
  const best = ranked[0];
  if (best && best.score > 0 && !(ranked[1] && ranked[1].score === best.score)) {
    return { format: best.entry.format, by: 'detected', scores };
  }
  // No records could be parsed and no format claims the bytes (a container such as Parquet would): the LLaVA
  // reader reads it and reports exactly what is wrong (empty, not JSON, cut off…).
  if (probe.values.length === 0 && llava) return { format: llava.format, by: 'default', scores: [] };
  const first = probe.values[0];
  // Records wrapped in one object (`{"data": […]}`) say so, rather than "no format recognises them".
  if (!best || best.score === 0) refuseWrappedRecords(first, file, firstValuePlace(probe.head));
  const shown = excerptOf(first);
  if ((!best || best.score === 0) && isMetadataRecord(first)) {
    throw new DiagnosticError(
      diagnose(writerRules.metadataInput, {
        message: `${file} holds metadata records (image, captions, URL; no conversations), e.g. ${shown}. It is not a dataset to convert.`,
        hint: `Attach it to its chat file: llava convert chat.json --metadata ${file} --to <format> -o out.json (library: convert({ metadata: { path } })).`,
        file,
        recordIndex: 0,
      }),
    );
  }
  const list = scores.map((s) => `${s.format} ${s.score.toFixed(2)}`).join(', ');
  const tie = best && best.score > 0;
  throw new DiagnosticError(
    diagnose(formatRules.ambiguousFormat, {
      message: `${
        tie
          ? `The records look equally like ${ranked
              .filter((r) => r.score === best.score)
              .map((r) => r.entry.format.name)
              .join(' and ')}`
          : 'No known format recognises these records'
      }. First record: ${shown}. Scores: ${list}.`,
      hint: `Name the input format with --from (${scores.map((s) => s.format).join(', ')}).`,
      file,
      recordIndex: 0,
      data: { scores },
    }),
  );
}

/** A record of a pretraining metadata file: an `image` path with captions or a URL, and no turns. */
function isMetadataRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  if ('conversations' in v || 'messages' in v) return false;
  return typeof v.image === 'string' && ['caption', 'blip_caption', 'url'].some((k) => k in v);
}

/** A short JSON excerpt of a value for a message (at most 160 characters). */
function excerptOf(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
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

/**
 * The options of an input format: `readOptions` values and `--read-option` arguments, parsed by the reader's own
 * schema. A read-option name the reader does not know is a usage error (`options/unknown`), as `-O` is for the target.
 */
function readerOptions(format: FormatPlugin<object>, options: ConvertOptions): object {
  const args = options.readOptionArguments ?? [];
  const unknown = args.length > 0 ? unknownOptionArguments(args, [format]) : undefined;
  if (unknown) {
    throw new DiagnosticError(
      diagnose(formatRules.unknownOption, {
        message: `${unknown} (the input format is "${format.name}"; its options go in --read-option)`,
        hint: `Run \`llava formats ${format.name}\` to see its options.`,
      }),
    );
  }
  return parseOptions(format, options.readOptions, args, 'input');
}

/** Where the first JSON value of a probed head starts (the first character that is not white space or a BOM). */
function firstValuePlace(head: string): {
  index: number;
  offset: number;
  line: number;
  column: number;
  length: number;
} {
  const at = head.search(/[^\s\uFEFF]/);
  const before = at === -1 ? '' : head.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return { index: 0, offset: Buffer.byteLength(before, 'utf8'), line, column, length: -1 };
}

/** The limitations a format notes for a run with these options. */
function limitationsOf(format: FormatPlugin<object>, options: object): readonly string[] {
  if (!format.limitationsFor) return format.limitations ?? [];
  try {
    return format.limitationsFor(options);
  } catch {
    return format.limitations ?? [];
  }
}

export type { LlavaRecord };
/** Count diagnostics by severity (re-exported for CLI summaries). */
export { summarize };
