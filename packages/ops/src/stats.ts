import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/schema';
import { parseFormatOptions } from './format-context.js';
import { KeyTable } from './hash.js';
import { Histogram, type HistogramJson } from './histogram.js';
import { ImageSizer, openResolver } from './images.js';
import { measureRecord } from './length.js';
import type { InputOptions } from './op-types.js';
import { openInput, readOpenedBatches } from './read-inputs.js';
import { opsRules } from './rules.js';
import { addCounts, StatsCounter } from './stats-count.js';
import { StatsWorkers } from './stats-parallel.js';
import { LlamaTokenCounter, type ModelPreset, needsImageSize } from './tokens.js';

/** With `workers` not given, inputs under this size are counted in this thread: starting threads costs more. */
const AUTO_MIN_INPUT_BYTES = 8 * 1024 * 1024;

/** Options of {@link computeStats}. */
export interface StatsOptions extends InputOptions {
  /** Image-token preset (default `llava-1.5-336`). */
  readonly model?: ModelPreset;
  /** Conversation template whose overhead is counted (see `@llavakit/prompts`); none by default. */
  readonly template?: string;
  /** Count tokens (default true); false skips the tokenizer. */
  readonly tokens?: boolean;
  /** Image sources (`--images` specs), needed for the AnyRes presets' image sizes. */
  readonly images?: readonly string[];
  /**
   * Worker threads that parse, decode and count (the tokenizer above all), each with its own tokenizer; the main
   * thread scans the bytes and keeps the duplicate tables, so the result is the same whatever the number. Default:
   * the machine's available parallelism for files of 8 MiB or more (smaller files and streams are counted in this
   * thread); a number given sends every input that can go to workers. `1`: this thread only. Stream-level formats,
   * the AnyRes presets (image sizes are read in this thread) and formats worker threads cannot import are counted in
   * this thread (see `onFallback`).
   */
  readonly workers?: number;
  /** Called once, with the reason, when `workers` asked for threads and an input is counted in this thread. */
  readonly onFallback?: (reason: string) => void;
  /** Largest batch of element bytes sent to a worker (default 512 KiB). */
  readonly batchBytes?: number;
}

/** Per-source counts. */
export interface SourceStats {
  records: number;
  textOnly: number;
  images: number;
}

/** The stats of one or more inputs; plain JSON, mergeable with {@link mergeStats}. */
export interface StatsResult {
  readonly kind: 'llavakit-stats';
  readonly version: 1;
  readonly inputs: { file: string; format: string; read: number; invalid: number }[];
  /** Records counted (valid records). */
  records: number;
  /** Input elements that are no valid record (not counted elsewhere), by rule. */
  invalid: number;
  readonly invalidByRule: Record<string, number>;
  /** Records with neither image nor video. */
  textOnly: number;
  /** textOnly / records. */
  textOnlyShare: number;
  readonly sources: Record<string, SourceStats>;
  /** Turns per record. */
  turns: HistogramJson;
  /** Images per record: `{ "0": n, "1": n, … }`. */
  readonly imagesPerRecord: Record<string, number>;
  /** Images referenced in total. */
  images: number;
  /**
   * Where `<image>` sits in the turn that holds it: `start` (first thing), `end` (last thing), `middle`, and
   * records with images but `none`; `mismatch` counts records whose token and image counts differ.
   */
  readonly imagePlacement: { start: number; end: number; middle: number; none: number; mismatch: number };
  /** Token lengths (total = text + template overhead + image tokens), with the parts. */
  tokens: {
    readonly model: ModelPreset;
    readonly template: string | null;
    readonly tokenizer: string;
    unmeasurable: number;
    p50: number | null;
    p90: number | null;
    p99: number | null;
    max: number | null;
    mean: number | null;
    histogram: HistogramJson['histogram'];
    total: HistogramJson;
    text: HistogramJson;
    image: HistogramJson;
    overhead: HistogramJson;
  } | null;
  /**
   * Records whose id / normalised conversation was seen before (64-bit hashes). In a merged result, duplicates are
   * counted within each shard only (`scope: 'per-shard'`).
   */
  readonly duplicates: { ids: number; conversations: number; scope: 'all' | 'per-shard' };
  durationMs: number;
}

const TOKENIZER = 'llama-tokenizer-js@1.2.2 (LLaMA / Vicuna SentencePiece)';

/**
 * Count what a dataset holds, streaming (memory: two 64-bit hash tables for the duplicates, ~24 bytes per
 * record, plus one exact histogram per measure): records, text-only share, sources, turns, `<image>` placement,
 * images per record, duplicate ids and conversations, and token lengths with the real LLaMA tokenizer plus image
 * tokens by model preset and template overhead. With `workers`, worker threads parse, decode and count (each with
 * its own tokenizer) while this thread scans the bytes and keeps the duplicate tables: the same result, faster.
 *
 * @example
 * ```ts
 * const stats = await computeStats({ inputs: ['llava_v1_5_mix665k.json'], registry: createBuiltinRegistry(), template: 'v1' });
 * console.log(stats.records, stats.sources.coco, stats.tokens?.p99);
 * const same = await computeStats({ inputs: ['llava_v1_5_mix665k.json'], registry, template: 'v1', workers: 4 });
 * ```
 */
export async function computeStats(options: StatsOptions): Promise<StatsResult> {
  const started = performance.now();
  const model = options.model ?? 'llava-1.5-336';
  const withTokens = options.tokens ?? true;
  // The tokenizer of this thread is loaded for the first input counted here (workers load their own).
  let counter: LlamaTokenCounter | undefined;
  const anyRes = withTokens && needsImageSize(model);
  const resolver = anyRes ? await openResolver(options.images) : undefined;
  if (anyRes && !resolver) {
    throw new DiagnosticError(
      diagnose(opsRules.usage, {
        message: `--model ${model} reads image sizes: pass --images with the image sources.`,
      }),
    );
  }
  const sizer = new ImageSizer(resolver);
  const ids = new KeyTable(1 << 16, false);
  const conversations = new KeyTable(1 << 16, false);
  const duplicates = { ids: 0, conversations: 0 };
  const counts = new StatsCounter((id, conversation) => {
    if (id && ids.putIfAbsent(id, 1) !== undefined) duplicates.ids++;
    if (conversations.putIfAbsent(conversation, 1) !== undefined) duplicates.conversations++;
  });
  const lengthOf = (record: LlavaRecord) =>
    measureRecord(record, {
      counter: counter!,
      model,
      ...(options.template ? { template: options.template } : {}),
      imageSize: (path) => sizer.sizeOf(path),
    });
  const explicit = options.workers !== undefined;
  const workers = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  let told = false;
  const onFallback = (reason: string) => {
    if (told || !explicit || workers <= 1) return;
    told = true;
    options.onFallback?.(reason);
  };
  if (workers > 1 && anyRes) onFallback(`${model} reads image sizes in this thread`);
  const parallel =
    workers > 1 && !anyRes
      ? new StatsWorkers({
          workers,
          minInputBytes: explicit ? 0 : AUTO_MIN_INPUT_BYTES,
          setup: { tokens: withTokens, model, ...(options.template ? { template: options.template } : {}) },
          registry: options.registry,
          signal: options.signal,
          onFallback,
          batchBytes: options.batchBytes,
        })
      : undefined;
  const inputs: StatsResult['inputs'] = [];
  try {
    for (const file of options.inputs) {
      const opened = await openInput(file, options);
      const input = { file, format: opened.format.name, read: 0, invalid: 0 };
      inputs.push(input);
      const before = { read: counts.read, invalid: counts.invalid };
      const readOptions = parseFormatOptions(opened.format, options.formatOptions);
      const sink = { counter: counts, ids, conversations, duplicates };
      const job = { keepRecord: options.keepRecord, onProgress: options.onProgress };
      if (!(await parallel?.count(file, opened, readOptions, sink, job))) {
        if (withTokens) counter ??= await LlamaTokenCounter.create();
        for await (const batch of readOpenedBatches(file, opened, { ...options, pass: 'stats' })) {
          for (const item of batch) {
            if (options.keepRecord && !options.keepRecord(item.index)) continue;
            if (!item.ok) {
              counts.invalidItem(item);
              continue;
            }
            const record = item.record;
            const paths = counts.record(record);
            if (!counter) continue;
            // Sizes are read (asynchronously) only for the AnyRes presets; otherwise the visit stays synchronous.
            if (resolver && paths.length > 0) await sizer.load(paths);
            counts.length(lengthOf(record));
          }
        }
      }
      input.read = counts.read - before.read;
      input.invalid = counts.invalid - before.invalid;
    }
  } finally {
    await parallel?.close();
    await resolver?.close();
  }
  const result = emptyStats(counts.turns, 'all');
  result.inputs.push(...inputs);
  result.records = counts.records;
  result.invalid = counts.invalid;
  Object.assign(result.invalidByRule, counts.invalidByRule);
  result.textOnly = counts.textOnly;
  Object.assign(result.sources, counts.sources);
  Object.assign(result.imagesPerRecord, counts.imagesPerRecord);
  result.images = counts.images;
  Object.assign(result.imagePlacement, counts.placement);
  result.duplicates.ids = duplicates.ids;
  result.duplicates.conversations = duplicates.conversations;
  result.textOnlyShare = share(result.textOnly, result.records);
  if (withTokens)
    result.tokens = tokensJson(
      model,
      options.template ?? null,
      counts.unmeasurable,
      counts.total,
      counts.text,
      counts.image,
      counts.overhead,
    );
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1e6) / 1e6;
}

function tokensJson(
  model: ModelPreset,
  template: string | null,
  unmeasurable: number,
  total: Histogram,
  text: Histogram,
  image: Histogram,
  overhead: Histogram,
): NonNullable<StatsResult['tokens']> {
  const t = total.toJSON();
  return {
    model,
    template,
    tokenizer: TOKENIZER,
    unmeasurable,
    p50: t.p50,
    p90: t.p90,
    p99: t.p99,
    max: t.max,
    mean: t.mean,
    histogram: t.histogram,
    total: t,
    text: text.toJSON(),
    image: image.toJSON(),
    overhead: overhead.toJSON(),
  };
}

/** A result with nothing counted yet (the start of {@link computeStats} and of {@link mergeStats}). */
function emptyStats(turns: Histogram, scope: StatsResult['duplicates']['scope']): StatsResult {
  return {
    kind: 'llavakit-stats',
    version: 1,
    inputs: [],
    records: 0,
    invalid: 0,
    invalidByRule: {},
    textOnly: 0,
    textOnlyShare: 0,
    sources: {},
    turns: turns.toJSON(),
    imagesPerRecord: {},
    images: 0,
    imagePlacement: { start: 0, end: 0, middle: 0, none: 0, mismatch: 0 },
    tokens: null,
    duplicates: { ids: 0, conversations: 0, scope },
    durationMs: 0,
  };
}

/**
 * Merge stats results of shards into one (counts add, histograms merge exactly, so percentiles stay exact).
 * Duplicates are summed within shards (`scope: 'per-shard'`): a duplicate across two shards is not seen.
 * Throws a `DiagnosticError` (`stats/merge`) for results of different models or templates.
 */
export function mergeStats(results: readonly StatsResult[]): StatsResult {
  if (results.length === 0) throw new DiagnosticError(diagnose(opsRules.statsMerge, { message: 'Nothing to merge.' }));
  const turns = new Histogram();
  const hs = { total: new Histogram(), text: new Histogram(), image: new Histogram(), overhead: new Histogram() };
  const first = results[0]!;
  const out = emptyStats(turns, results.length > 1 ? 'per-shard' : first.duplicates.scope);
  let unmeasurable = 0;
  for (const r of results) {
    if (
      (r.tokens === null) !== (first.tokens === null) ||
      (r.tokens && (r.tokens.model !== first.tokens!.model || r.tokens.template !== first.tokens!.template))
    ) {
      throw new DiagnosticError(
        diagnose(opsRules.statsMerge, {
          message:
            'The results were computed with different token settings (--model, --template or --no-tokens); merge only like with like.',
        }),
      );
    }
    out.inputs.push(...r.inputs);
    out.records += r.records;
    out.invalid += r.invalid;
    addCounts(out.invalidByRule, r.invalidByRule);
    out.textOnly += r.textOnly;
    for (const [name, s] of Object.entries(r.sources)) {
      const t = (out.sources[name] ??= { records: 0, textOnly: 0, images: 0 });
      t.records += s.records;
      t.textOnly += s.textOnly;
      t.images += s.images;
    }
    turns.merge(r.turns);
    addCounts(out.imagesPerRecord, r.imagesPerRecord);
    out.images += r.images;
    for (const key of Object.keys(out.imagePlacement) as (keyof StatsResult['imagePlacement'])[])
      out.imagePlacement[key] += r.imagePlacement[key];
    out.duplicates.ids += r.duplicates.ids;
    out.duplicates.conversations += r.duplicates.conversations;
    out.durationMs += r.durationMs;
    if (r.tokens) {
      unmeasurable += r.tokens.unmeasurable;
      hs.total.merge(r.tokens.total);
      hs.text.merge(r.tokens.text);
      hs.image.merge(r.tokens.image);
      hs.overhead.merge(r.tokens.overhead);
    }
  }
  out.textOnlyShare = share(out.textOnly, out.records);
  out.turns = turns.toJSON();
  if (first.tokens)
    out.tokens = tokensJson(
      first.tokens.model,
      first.tokens.template,
      unmeasurable,
      hs.total,
      hs.text,
      hs.image,
      hs.overhead,
    );
  return out;
}

/** Read stats results (`llava stats --json` outputs) from files; a file that is not one is a `stats/merge` error. */
export async function readStatsFiles(paths: readonly string[]): Promise<StatsResult[]> {
  const out: StatsResult[] = [];
  for (const path of paths) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new DiagnosticError(
        diagnose(opsRules.statsMerge, {
          message: `Cannot read ${path} as JSON: ${(error as Error).message}`,
          file: path,
        }),
      );
    }
    if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== 'llavakit-stats') {
      throw new DiagnosticError(
        diagnose(opsRules.statsMerge, { message: `${path} is not a \`llava stats --json\` result.`, file: path }),
      );
    }
    out.push(value as StatsResult);
  }
  return out;
}
