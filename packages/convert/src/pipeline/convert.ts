import { type Diagnostic, DiagnosticError, diagnose, summarize } from '@llavakit/diagnostics';
import type {
  Container,
  DetectProbe,
  FormatContext,
  FormatPlugin,
  ImageAccess,
  InputSource,
  RecordContext,
  SourceRecord,
} from '@llavakit/format';
import { checkInputPath } from '@llavakit/reader';
import { containerFromPath, JsonValueWriter } from './container.js';
import type { ConvertOptions, ConvertSummary, InputSummary } from './convert-options.js';
import { chooseInputFormat, claimedAsContainer } from './detect.js';
import { createImageExtractor, type ImageExtractor } from './extract-images.js';
import { sourceOfPath } from './input.js';
import { type ParallelHost, ParallelRun } from './parallel/run.js';
import { namedFormat, preflight } from './preflight.js';
import { readerOptions, readInput } from './read.js';
import { RejectsFile } from './rejects.js';
import { outputRules, writerRules } from './rules.js';
import { openTextSink } from './sink.js';
import { callPlugin, EncodeWatch, encodeOne, StopConversion, withPlace } from './walls.js';

export type {
  ConvertOptions,
  ConvertProgress,
  ConvertSummary,
  InputSummary,
  OnInvalid,
} from './convert-options.js';
export { type ChosenFormat, chooseInputFormat, type FormatScore, openInputFormat, probeFile } from './detect.js';

const IDENTITY_IMAGES: ImageAccess = { rewrite: (path) => path, readBytes: async () => undefined };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Convert records from one format to another, streaming in constant memory. Every input record is either written or
 * rejected (to the rejects file, with its diagnostics); the output appears atomically when complete.
 *
 * The steps, in order: {@link Conversion.start} (target format, preflight, container), then for each input
 * {@link Conversion.sources} (open → choose its format → read → check), {@link Conversion.encodeRecords} or
 * {@link Conversion.writeStream} (the target writes), {@link Conversion.complete} (extracted images, rejects, every
 * output put in place together) — or {@link Conversion.abandon} when the run stops.
 *
 * @example
 * ```ts
 * const summary = await convert({ inputs: ['llava_instruct_150k.json'], to: 'sharegpt', output: 'out.json', registry: createBuiltinRegistry() });
 * console.log(summary.read, summary.written, summary.rejected);
 * ```
 */
export async function convert(options: ConvertOptions): Promise<ConvertSummary> {
  const run = await Conversion.start(options);
  try {
    if (run.target.encode) await run.encodeRecords();
    else await run.writeStream();
    run.stopIfFailed();
    await run.complete();
  } catch (caught) {
    return await run.abandon(caught);
  } finally {
    await run.closeWorkers();
  }
  return run.finish();
}

/** One conversion run: its summary and tallies, and the steps of {@link convert}. */
class Conversion {
  readonly summary: ConvertSummary;
  readonly #started = performance.now();
  readonly #images: ImageAccess;
  readonly #extractor: ImageExtractor | undefined;
  readonly #rejects: RejectsFile;
  readonly #watch: EncodeWatch;
  /** [parallel hook] the worker-thread pipeline (./parallel/run.ts), when asked for and the target encodes records. */
  readonly #parallel: ParallelRun | undefined;
  #writer: JsonValueWriter | undefined;
  /** The input being read, and the embedded images of the record being converted (answered before the sources). */
  #currentInput: InputSummary | undefined;
  #currentEmbedded: SourceRecord['embedded'];
  #embeddedRecords = 0;
  #embeddedReads = 0;

  private constructor(
    readonly options: ConvertOptions,
    readonly target: FormatPlugin<object>,
    readonly targetOptions: object,
    readonly container: Container | undefined,
  ) {
    this.summary = {
      from: [],
      to: target.name,
      output: options.output,
      container,
      inputs: [],
      read: 0,
      written: 0,
      rejected: 0,
      discarded: 0,
      counts: {},
      limitations: limitationsOf(target, targetOptions),
      diagnostics: { error: 0, warning: 0, info: 0 },
      rejectedByRule: {},
      failed: false,
      durationMs: 0,
    };
    const hostImages = options.images ?? IDENTITY_IMAGES;
    this.#images = {
      rewrite: (path) => hostImages.rewrite(path),
      readBytes: async (path) => {
        const bytes = this.#currentEmbedded?.get(path);
        if (bytes) {
          this.#embeddedReads++;
          return bytes;
        }
        return hostImages.readBytes(path);
      },
    };
    this.#extractor = options.extractImages ? createImageExtractor(options.extractImages) : undefined;
    this.#rejects = new RejectsFile(options.rejects);
    this.#watch = new EncodeWatch(options.encodeTimeoutMs ?? 60_000, options.signal);
    this.#parallel =
      options.parallel && target.encode
        ? new ParallelRun(options.parallel, {
            registry: options.registry,
            target,
            targetOptions,
            container: container === 'jsonl' ? 'jsonl' : 'json',
            encodeTimeoutMs: options.encodeTimeoutMs ?? 60_000,
            rejects: options.rejects !== undefined,
            hasCheck: options.check !== undefined,
            hasImages: options.images !== undefined,
            ...(options.metadata
              ? { other: 'metadata records are joined in this thread' }
              : options.extractImages
                ? { other: 'embedded images are extracted in this thread' }
                : {}),
          })
        : undefined;
  }

  /**
   * Step 1: the target format, the usage checks (an unknown --from, unknown -O names, bad values, colliding paths)
   * before anything is written, and the container. A record-level format is written in a JSON container (array by
   * default); a stream-level writer owns its container (tar shards, Parquet, …): it gets one only when it declares
   * a default or one is asked for.
   */
  static async start(options: ConvertOptions): Promise<Conversion> {
    const target = namedFormat(options.registry, options.to, 'write');
    const targetOptions = await preflight(options, target);
    const container =
      options.container ??
      containerFromPath(options.output) ??
      target.defaultContainer ??
      (target.encode ? ('json' as Container) : undefined);
    return new Conversion(options, target, targetOptions, container);
  }

  readonly note = (d: Diagnostic): void => {
    this.summary.diagnostics[d.severity]++;
    this.options.onDiagnostic?.(d);
  };

  readonly count = (event: string, by = 1): void => {
    const counts = this.summary.counts;
    counts[event] = (counts[event] ?? 0) + by;
  };

  /** A record rejected: counted, reported, appended to the rejects file; with `--on-invalid fail` the run stops. */
  reject(
    input: InputSummary,
    index: number,
    diagnostics: readonly Diagnostic[],
    value: unknown,
    text?: string,
    prepared?: string,
  ) {
    const { summary, options } = this;
    summary.rejected++;
    input.rejected++;
    options.onReject?.({ file: input.file, index, diagnostics });
    for (const d of diagnostics) {
      summary.diagnostics[d.severity]++;
      if (d.severity === 'error') summary.rejectedByRule[d.ruleId] = (summary.rejectedByRule[d.ruleId] ?? 0) + 1;
    }
    const written = this.#rejects.add({ file: input.file, index, diagnostics, value, text }, prepared);
    if (options.onInvalid === 'fail' && !summary.failed) {
      summary.failed = true;
      summary.fatal = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    }
    return written;
  }

  stopIfFailed(): void {
    if (this.summary.failed) throw new StopConversion();
  }

  /** Step 2, per input: open it, choose its format, read its records, run the checks; yields the records to write. */
  async *sources(): AsyncGenerator<SourceRecord> {
    const { options, summary } = this;
    for (const file of options.inputs) {
      const { stream, probe } = await this.#openInput(file);
      const { format: sourceFormat } = await chooseInputFormat(file, options, probe);
      summary.from.push(sourceFormat.name);
      const input: InputSummary = { file, format: sourceFormat.name, read: 0, written: 0, rejected: 0 };
      summary.inputs.push(input);
      const context: FormatContext<object> = {
        options: readerOptions(sourceFormat, options),
        file,
        report: this.note,
        count: this.count,
        images: this.#images,
        ...(options.signal ? { signal: options.signal } : {}),
      };
      // [parallel hook] worker threads convert the input when they can (./parallel): nothing is yielded then.
      const parallel = this.#parallel;
      if (
        parallel &&
        (await parallel.convert(this.#parallelInput(file, stream, sourceFormat, context), this.#hostOf(input)))
      ) {
        continue;
      }
      for await (const result of readInput(sourceFormat, stream, context, options)) {
        if (options.keepRecord && !options.keepRecord(result.index)) continue;
        summary.read++;
        input.read++;
        if (!result.ok) {
          await this.reject(input, result.index, result.diagnostics, undefined, result.text);
          this.stopIfFailed();
          continue;
        }
        let source: SourceRecord = {
          record: result.record,
          index: result.index,
          file,
          ...(result.place ? { place: result.place } : {}),
          ...(result.embedded && result.embedded.size > 0 ? { embedded: result.embedded } : {}),
        };
        if (options.check && !(await this.#check(input, source))) continue;
        if (source.embedded) {
          this.#embeddedRecords++;
          if (this.#extractor) source = await this.#extractor.extract(source);
        }
        this.#currentInput = input;
        this.#currentEmbedded = source.embedded;
        yield source;
      }
    }
  }

  /** [parallel hook] One input as the worker-thread pipeline takes it. */
  #parallelInput(file: string, stream: InputSource, source: FormatPlugin<object>, context: FormatContext<object>) {
    const options = this.options;
    return {
      file,
      input: stream,
      source,
      readOptions: context.options,
      ...(options.keepRecord ? { keepRecord: options.keepRecord } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress
        ? {
            onProgress: (bytesRead: number, records: number, totalBytes?: number) =>
              options.onProgress?.({ file, bytesRead, records, ...(totalBytes !== undefined ? { totalBytes } : {}) }),
          }
        : {}),
    };
  }

  /** [parallel hook] What the workers found, replayed in input order into this run's tallies, rejects and output. */
  #hostOf(input: InputSummary): ParallelHost {
    const summary = this.summary;
    return {
      read: () => {
        summary.read++;
        input.read++;
      },
      note: this.note,
      count: this.count,
      reject: (index, diagnostics, line) => this.reject(input, index, diagnostics, undefined, undefined, line),
      accept: () => {
        this.#currentInput = input;
        this.#accept();
      },
      write: (bytes, count) => this.#writer!.writeEncoded(bytes, count),
      failed: () => summary.failed,
    };
  }

  /** Stop the worker threads (after the last input, or when the run stopped). */
  async closeWorkers(): Promise<void> {
    await this.#parallel?.close();
  }

  /** An input path checked; a FIFO or `<(…)` (read once) is peeked: its format is detected from the buffered head. */
  async #openInput(file: string): Promise<{ stream: InputSource; probe?: DetectProbe }> {
    const options = this.options;
    await checkInputPath(file).catch(async (error: unknown) => {
      // A folder or a glob is an input only for a format that reads its own container (a Parquet folder).
      if (!(await claimedAsContainer(file, options))) throw error;
    });
    const { input: stream, probe } = await sourceOfPath(file, { stdin: options.stdin, peek: !options.from });
    return probe ? { stream, probe } : { stream };
  }

  /**
   * The extra checks of a record (validation rules, image lookups): an error rejects it (false), other findings are
   * notes; a thrown `DiagnosticError` rejects it and stops the run.
   */
  async #check(input: InputSummary, source: SourceRecord): Promise<boolean> {
    let found: readonly Diagnostic[];
    try {
      const checked = this.options.check!(source);
      found = Array.isArray(checked) ? (checked as readonly Diagnostic[]) : await checked;
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      this.summary.failed = true;
      this.summary.fatal = error.diagnostic;
      await this.reject(input, source.index, [error.diagnostic], source.record);
      throw new StopConversion();
    }
    if (found.some((d) => d.severity === 'error')) {
      await this.reject(input, source.index, found, source.record);
      this.stopIfFailed();
      return false;
    }
    for (const d of found) this.note(d);
    return true;
  }

  /** A stream-level writer may hold records back (a Parquet row group): each counts against the input it came from. */
  #inputOf(source?: SourceRecord): InputSummary | undefined {
    return (source && this.summary.inputs.findLast((input) => input.file === source.file)) ?? this.#currentInput;
  }

  readonly #accept = (source?: SourceRecord): void => {
    this.summary.written++;
    const input = this.#inputOf(source);
    if (input) input.written++;
  };

  /** Step 3 (record-level targets): encode each record behind the wall and write it, or reject it. */
  async encodeRecords(): Promise<void> {
    const { options, target } = this;
    const writer = new JsonValueWriter(await openTextSink(options.output), this.container ?? 'json');
    this.#writer = writer;
    // One context object per conversion, updated per record (encode is awaited before the next record).
    const context: Mutable<RecordContext<object>> = {
      options: this.targetOptions,
      file: '',
      index: 0,
      report: this.note,
      count: this.count,
      images: this.#images,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    for await (const source of this.sources()) {
      options.signal?.throwIfAborted();
      context.file = source.file;
      context.index = source.index;
      const encoding = encodeOne(target, source, context, this.#watch);
      const outcome = encoding instanceof Promise ? await encoding : encoding;
      // An interruption abandons the record in flight: it is neither written nor rejected.
      if (encoding instanceof Promise) options.signal?.throwIfAborted();
      if (outcome.ok) {
        const written = writer.writeJson(outcome.json);
        if (written) await written;
        this.#accept();
      } else {
        await this.reject(this.#currentInput!, source.index, withPlace(outcome.diagnostics, source), source.record);
        this.stopIfFailed();
      }
    }
    await writer.finish();
  }

  /** Step 3 (stream-level targets): the format's `write` pulls the records and writes its own container. */
  async writeStream(): Promise<void> {
    const { options, target } = this;
    await callPlugin(target.name, 'write', () =>
      target.write!(this.sources(), {
        options: this.targetOptions,
        file: options.output,
        output: { path: options.output, container: this.container },
        report: this.note,
        count: this.count,
        images: this.#images,
        accept: this.#accept,
        reject: (source, diagnostics) => {
          void this.reject(this.#inputOf(source)!, source.index, withPlace(diagnostics, source), source.record);
        },
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }

  /** Step 4: extracted images committed, the rejects file finished, then every output put in place together. */
  async complete(): Promise<void> {
    const extractor = this.#extractor;
    if (extractor) {
      await extractor.commit();
      if (extractor.written > 0) this.count('images:extracted', extractor.written);
    } else if (this.target.encode && this.#embeddedRecords > 0 && this.#embeddedReads === 0) {
      // (A record-level target that read no embedded bytes only wrote their paths; stream-level targets get the
      // bytes on each source record and decide themselves.)
      this.note(
        diagnose(writerRules.embeddedImagesUnused, {
          message: `${this.#embeddedRecords} record(s) carried embedded images that ${this.target.name} did not use; their paths name files that were not written.`,
        }),
      );
    }
    await this.#rejects.finish();
    // Every output is complete (all bytes written, every write error seen): put them in place together.
    await this.#writer?.close();
    await this.#rejects.close();
  }

  /**
   * The run stopped (by the data, an interruption, a failed write): no output appears. The rejects of a run stopped
   * by the data (--on-invalid fail, a fatal input error) are kept, to show why; an interrupted run or a failed write
   * leaves no output at all. A diagnostic error becomes the summary's `fatal`; anything else is rethrown.
   */
  async abandon(caught: unknown): Promise<ConvertSummary> {
    const { options, summary } = this;
    this.#watch.stop();
    let error = caught;
    if (options.signal?.aborted) {
      error = new DiagnosticError(
        diagnose(outputRules.interrupted, {
          message: `The conversion was interrupted${typeof options.signal.reason === 'string' ? ` (${options.signal.reason})` : ''}; no output was created or replaced.`,
          source: 'writer',
        }),
      );
    }
    await this.#writer?.abort();
    await this.#extractor?.abort().catch(() => undefined);
    const keepRejects =
      error instanceof StopConversion ||
      (DiagnosticError.is(error) && !/^(output|run)\//.test(error.diagnostic.ruleId));
    const closeError = await this.#rejects.settle(keepRejects);
    if (closeError !== undefined) error = closeError;
    if (error instanceof StopConversion) return this.finish();
    if (DiagnosticError.is(error)) {
      summary.failed = true;
      summary.fatal = error.diagnostic;
      summary.diagnostics[error.diagnostic.severity]++;
      return this.finish();
    }
    throw error;
  }

  /** Close the summary: its duration, and for a failed run nothing counted as written (no output was created). */
  finish(): ConvertSummary {
    this.#watch.stop();
    return finish(this.summary, this.#started);
  }
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

/** The limitations a format notes for a run with these options. */
function limitationsOf(format: FormatPlugin<object>, options: object): readonly string[] {
  if (!format.limitationsFor) return format.limitations ?? [];
  try {
    return format.limitationsFor(options);
  } catch {
    return format.limitations ?? [];
  }
}

/** Count diagnostics by severity (re-exported for CLI summaries). */
export { summarize };
