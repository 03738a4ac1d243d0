import { dirname, relative, resolve } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose, exitCodeOf } from '@llavakit/diagnostics';
import type { Container, SourceRecord } from '@llavakit/format';
import { createRecordChecker } from '@llavakit/schema';
import { datasetInfoRules } from '../formats/shared/rules.js';
import { type OptionArgument, parseOptionArguments } from '../plugins/options.js';
import type { FormatRegistry } from '../plugins/registry.js';
import { convert } from './convert.js';
import type { ConvertOptions, ConvertProgress, ConvertSummary, OnInvalid } from './convert-options.js';
import { type DatasetInfoEntry, writeDatasetInfo } from './dataset-info.js';
import { type ImageAccessOptions, type ImageAccessSetup, openImageAccess } from './image-access.js';
import type { ImageTokenPolicy } from './image-policy.js';
import { workersOptions } from './parallel/run.js';
import { isShardDone, shardResultPaths, writeShardResult } from './shard.js';
import { planShardRun, type ShardRunPlan } from './shard-plan.js';

/** Named options of {@link runConvert}: what `llava convert` is asked, flag by flag. */
export interface ConvertRunOptions {
  readonly inputs: readonly string[];
  readonly from?: string | undefined;
  readonly to: string;
  /** Output path, `-` for standard output; with `shard`, it holds `{shard}`. */
  readonly output: string;
  readonly container?: Container | undefined;
  /** The formats, or how to load them (called once the shard plan is known, so a bad `--shard` loads nothing). */
  readonly registry: FormatRegistry | (() => Promise<FormatRegistry>);
  /** `--images`, `--missing-images`, `--image-paths`, `--image-root`, `--max-image-bytes`. */
  readonly images?: Omit<ImageAccessOptions, 'output' | 'embedImages'> | undefined;
  /** `--image-token`, `--embed-images`, `--normalize`: the built-in formats' options (they win over `-O`). */
  readonly imageToken?: ImageTokenPolicy | undefined;
  readonly embedImages?: boolean | undefined;
  readonly normalize?: boolean | undefined;
  /** `--extract-images <dir>`: images embedded in the input are written there; records point at them. */
  readonly extractImages?: string | undefined;
  /** `--dataset-info <file>`: the LLaMA-Factory entry of the (sharegpt) output is written or merged there. */
  readonly datasetInfo?: string | undefined;
  readonly onInvalid?: OnInvalid | undefined;
  readonly rejects?: string | undefined;
  readonly metadata?: { readonly path: string; readonly key?: string; readonly matchIds?: boolean } | undefined;
  /** `--validate`: every `llava validate` rule runs on each record before the image check. */
  readonly validate?: boolean | undefined;
  /** `-O key=value` as typed (parsed once here). */
  readonly optionArguments?: readonly string[] | undefined;
  /** `--read-option key=value` as typed. */
  readonly readOptionArguments?: readonly string[] | undefined;
  readonly allowInputOverwrite?: boolean | undefined;
  /** `--shard k/n`. */
  readonly shard?: string | undefined;
  /**
   * `--workers N`: worker threads that parse, check and encode (the same output bytes, rejects and diagnostics in
   * the same order); 1 = this thread only. Default: the available parallelism, for input files of 8 MiB or more.
   */
  readonly workers?: number | undefined;
  /** A note for the user (`--workers N` asked for, but the run converts in one thread, and why). */
  readonly onNote?: ((message: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly encodeTimeoutMs?: number | undefined;
  readonly onDiagnostic?: ((diagnostic: Diagnostic) => void) | undefined;
  readonly onReject?:
    | ((rejection: { file: string; index: number; diagnostics: readonly Diagnostic[] }) => void)
    | undefined;
  readonly onProgress?: ((progress: ConvertProgress) => void) | undefined;
}

/** What {@link runConvert} did. */
export type ConvertRun =
  /** This shard of the same run had finished before: nothing was read or written. */
  | { readonly status: 'skipped'; readonly shard: string; readonly done: string; readonly exitCode: 0 }
  /** The run could not start (bad flags, an unknown format, unusable image sources, no format fits the input). */
  | { readonly status: 'refused'; readonly diagnostic: Diagnostic; readonly exitCode: 1 | 2 }
  | {
      readonly status: 'converted';
      readonly summary: ConvertSummary;
      /** The output and rejects paths of this run (shard placeholders expanded). */
      readonly output: string;
      readonly rejects?: string | undefined;
      /** The dataset_info.json entry written (`datasetInfo`). */
      readonly datasetInfo?:
        | { readonly path: string; readonly name: string; readonly entry: DatasetInfoEntry; readonly created: boolean }
        | undefined;
      /** A failure after the records were written (dataset_info.json could not be written). */
      readonly afterError?: Diagnostic | undefined;
      /** 0 done, 1 data errors (the run stopped, or `afterError`), 2 usage (a reader's options, found after detection). */
      readonly exitCode: 0 | 1 | 2;
    };

/**
 * Everything `llava convert` does, as one call: the shard plan (`--shard`: inputs, record filter, output names; a
 * finished shard is skipped), the registry, the built-in formats' flags as options, `-O` parsed once, the image
 * sources and the `--missing-images` policy, the `--validate` rules, {@link convert}, then dataset_info.json and the
 * shard's done marker. Usage and data errors come back as values with their exit code; nothing is printed.
 */
export async function runConvert(options: ConvertRunOptions): Promise<ConvertRun> {
  let image: ImageAccessSetup | undefined;
  try {
    const optionArguments = parseOptionArguments(options.optionArguments ?? []);
    const plan = await planShard(options, optionArguments);
    if (plan.marker && plan.output && (await isShardDone(plan.output, plan.marker))) {
      return { status: 'skipped', shard: plan.marker.shard, done: shardResultPaths(plan.output).done, exitCode: 0 };
    }
    const registry = typeof options.registry === 'function' ? await options.registry() : options.registry;
    const output = plan.output ?? options.output;
    const rejects = plan.other(options.rejects);
    const formatOptions = builtinFormatOptions(options);
    checkDatasetInfo(options);
    // (image paths made relative, and extracted images, are relative to the output as given: before its {shard}
    // placeholders are expanded, as they always were)
    image = await openImageAccess({ ...options.images, output: options.output, embedImages: options.embedImages });
    const check = recordCheck(options.validate === true, image);
    const summary = await convert({
      inputs: plan.inputs,
      ...(options.from ? { from: options.from } : {}),
      to: options.to,
      output,
      ...(plan.keepRecord ? { keepRecord: plan.keepRecord } : {}),
      parallel: {
        ...workersOptions(options.workers, options.onNote, 'converting', true),
        ...(options.validate === true && !image.check ? { check: 'record' as const } : {}),
        imagesUnused: imagesUnused(options),
      },
      ...(options.container ? { container: options.container } : {}),
      registry,
      formatOptions,
      readOptionArguments: parseOptionArguments(options.readOptionArguments ?? []),
      optionArguments,
      ...(options.datasetInfo ? { otherOutputs: [{ flag: '--dataset-info', path: options.datasetInfo }] } : {}),
      ...(options.allowInputOverwrite ? { allowInputOverwrite: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.encodeTimeoutMs !== undefined ? { encodeTimeoutMs: options.encodeTimeoutMs } : {}),
      ...(options.onInvalid ? { onInvalid: options.onInvalid } : {}),
      ...(rejects ? { rejects } : {}),
      images: image.images,
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.extractImages ? { extractImages: extractImagesOptions(options.extractImages, options.output) } : {}),
      ...(check ? { check } : {}),
      ...(options.onDiagnostic ? { onDiagnostic: options.onDiagnostic } : {}),
      ...(options.onReject ? { onReject: options.onReject } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    Object.assign(summary.counts, image.counts);
    await image.close();
    image = undefined;
    const interrupted = options.signal?.aborted === true;
    let datasetInfo: Extract<ConvertRun, { status: 'converted' }>['datasetInfo'];
    let afterError: Diagnostic | undefined;
    try {
      if (!interrupted) datasetInfo = await writeDatasetInfoOf(options, summary, optionArguments);
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      afterError = error.diagnostic;
    }
    if (!summary.failed && !afterError && !interrupted && plan.marker && plan.output) {
      await writeShardResult(plan.output, plan.marker, summary);
    }
    // a reader's options are parsed once its format is known (after detection): still a usage error
    return {
      status: 'converted',
      summary,
      output,
      rejects,
      datasetInfo,
      afterError,
      exitCode: summary.failed || afterError ? (summary.fatal ? exitCodeOf(summary.fatal) : 1) : 0,
    };
  } catch (error) {
    await image?.close();
    if (!DiagnosticError.is(error)) throw error;
    return { status: 'refused', diagnostic: error.diagnostic, exitCode: exitCodeOf(error.diagnostic) };
  }
}

async function planShard(
  options: ConvertRunOptions,
  optionArguments: readonly OptionArgument[],
): Promise<ShardRunPlan> {
  const split = optionArguments.findLast((o) => o.key === 'split')?.raw;
  const plan = await planShardRun(
    options.inputs,
    options.shard,
    { path: options.output, folderFormat: options.to === 'parquet', ...(split ? { split } : {}) },
    [options.rejects],
  );
  if (plan.shard && plan.shard.count > 1 && options.datasetInfo) {
    throw new DiagnosticError(
      diagnose(datasetInfoRules.unsupported, {
        message:
          '--dataset-info names one entry for one file: with --shard, write it once the shards are done (from one of them, or by hand).',
        file: options.datasetInfo,
      }),
    );
  }
  return plan;
}

/** The built-in formats' flags as format options (a flag wins over the same option given with `-O`). */
function builtinFormatOptions(options: ConvertRunOptions): Record<string, unknown> {
  const formatOptions: Record<string, unknown> = {};
  if (options.imageToken !== undefined) formatOptions.imageToken = options.imageToken;
  if (options.embedImages === true) formatOptions.embedImages = true;
  if (options.normalize === true) formatOptions.normalize = true;
  return formatOptions;
}

/** `--dataset-info` describes a ShareGPT file: it needs `--to sharegpt` and an output file. */
function checkDatasetInfo(options: ConvertRunOptions): void {
  const datasetInfo = options.datasetInfo;
  if (datasetInfo === undefined) return;
  if (options.to !== 'sharegpt' || options.output === '-') {
    throw new DiagnosticError(
      diagnose(datasetInfoRules.unsupported, {
        message:
          options.to !== 'sharegpt'
            ? `--dataset-info describes LLaMA-Factory ShareGPT files; it needs --to sharegpt (not ${options.to}).`
            : '--dataset-info needs an output file (-o), not standard output.',
        file: datasetInfo,
      }),
    );
  }
}

/** `--extract-images <dir>`: paths in the output are relative to the output file's folder. */
function extractImagesOptions(dir: string, output: string): NonNullable<ConvertOptions['extractImages']> {
  const base = output !== '-' ? dirname(resolve(output)) : process.cwd();
  return { dir, pathPrefix: relative(base, resolve(dir)).replaceAll('\\', '/') };
}

/** True when no image option asks for lookups, rewriting or bytes (the image access then does nothing). */
function imagesUnused(options: ConvertRunOptions): boolean {
  const images = options.images;
  return (
    (images?.sources === undefined || images.sources.length === 0) &&
    images?.imageRoot === undefined &&
    (images?.imagePaths ?? 'as-is') === 'as-is' &&
    options.embedImages !== true
  );
}

/** The per-record checks: the validation rules (when asked), then, when those found no error, the image check. */
function recordCheck(
  validate: boolean,
  image: ImageAccessSetup,
): ((source: SourceRecord) => readonly Diagnostic[] | Promise<readonly Diagnostic[]>) | undefined {
  const rules = validate ? createRecordChecker() : undefined;
  const imageCheck = image.check;
  if (!imageCheck) return rules;
  return async (source) => {
    const found = rules ? [...rules(source)] : [];
    if (!found.some((d) => d.severity === 'error')) found.push(...(await imageCheck(source)));
    return found;
  };
}

/** With `--dataset-info`, the output's entry written or merged (only when the run did not stop). */
async function writeDatasetInfoOf(
  options: ConvertRunOptions,
  summary: ConvertSummary,
  optionArguments: readonly OptionArgument[],
) {
  const datasetInfo = options.datasetInfo;
  if (typeof datasetInfo !== 'string' || summary.failed || summary.to !== 'sharegpt' || summary.output === '-') {
    return undefined;
  }
  const layout =
    optionArguments.findLast((o) => o.key === 'layout')?.raw.trim() === 'messages' ? 'messages' : 'conversations';
  return writeDatasetInfo({ datasetInfo, output: summary.output, layout });
}
