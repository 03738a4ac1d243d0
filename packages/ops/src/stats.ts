import { readFile } from 'node:fs/promises';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { IMAGE_TOKEN, imagesOf, type LlavaRecord } from '@llavakit/schema';
import { conversationKey, KeyTable, textKey } from './hash.js';
import { Histogram, type HistogramJson } from './histogram.js';
import { ImageSizer, openResolver } from './images.js';
import { measureRecord } from './length.js';
import type { InputOptions } from './op-types.js';
import { forEachItem } from './read-inputs.js';
import { opsRules } from './rules.js';
import { isTextOnly, sourceOf } from './source.js';
import { LlamaTokenCounter, type ModelPreset, needsImageSize } from './tokens.js';

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
 * tokens by model preset and template overhead.
 *
 * @example
 * ```ts
 * const stats = await computeStats({ inputs: ['llava_v1_5_mix665k.json'], registry: createBuiltinRegistry(), template: 'v1' });
 * console.log(stats.records, stats.sources.coco, stats.tokens?.p99);
 * ```
 */
export async function computeStats(options: StatsOptions): Promise<StatsResult> {
  const started = performance.now();
  const model = options.model ?? 'llava-1.5-336';
  const withTokens = options.tokens ?? true;
  const counter = withTokens ? await LlamaTokenCounter.create() : undefined;
  const resolver = withTokens && needsImageSize(model) ? await openResolver(options.images) : undefined;
  if (withTokens && needsImageSize(model) && !resolver) {
    throw new DiagnosticError(
      diagnose(opsRules.usage, {
        message: `--model ${model} reads image sizes: pass --images with the image sources.`,
      }),
    );
  }
  const sizer = new ImageSizer(resolver);
  const turns = new Histogram();
  const total = new Histogram();
  const text = new Histogram();
  const image = new Histogram();
  const overhead = new Histogram();
  const ids = new KeyTable(1 << 16, false);
  const conversations = new KeyTable(1 << 16, false);
  const result = emptyStats(turns, 'all');
  let unmeasurable = 0;
  let input: StatsResult['inputs'][number] | undefined;
  const measure = (record: LlavaRecord) => {
    const length = measureRecord(record, {
      counter: counter!,
      model,
      ...(options.template ? { template: options.template } : {}),
      imageSize: (path) => sizer.sizeOf(path),
    });
    if ('unmeasurable' in length) unmeasurable++;
    else {
      total.add(length.total);
      text.add(length.text);
      image.add(length.image);
      overhead.add(length.overhead);
    }
  };
  try {
    await forEachItem(
      options,
      undefined,
      (item) => {
        input!.read++;
        if (!item.ok) {
          input!.invalid++;
          result.invalid++;
          const rule = item.diagnostics[0]?.ruleId ?? 'unknown';
          result.invalidByRule[rule] = (result.invalidByRule[rule] ?? 0) + 1;
          return;
        }
        const record = item.record;
        result.records++;
        const source = sourceOf(record);
        const perSource = (result.sources[source] ??= { records: 0, textOnly: 0, images: 0 });
        perSource.records++;
        const paths = imagesOf(record);
        perSource.images += paths.length;
        result.images += paths.length;
        result.imagesPerRecord[paths.length] = (result.imagesPerRecord[paths.length] ?? 0) + 1;
        if (isTextOnly(record)) {
          result.textOnly++;
          perSource.textOnly++;
        }
        turns.add(record.conversations.length);
        countPlacement(record.conversations, paths.length, result.imagePlacement);
        if (record.id !== undefined && ids.putIfAbsent(textKey(`${typeof record.id}:${record.id}`), 1) !== undefined) {
          result.duplicates.ids++;
        }
        if (conversations.putIfAbsent(conversationKey(record), 1) !== undefined) {
          result.duplicates.conversations++;
        }
        if (!counter) return;
        // Sizes are read (asynchronously) only for the AnyRes presets; otherwise the visit stays synchronous.
        if (resolver && paths.length > 0) return sizer.load(paths).then(() => measure(record));
        measure(record);
      },
      {
        pass: 'stats',
        onInput: (file, format) => {
          input = { file, format, read: 0, invalid: 0 };
          result.inputs.push(input);
        },
      },
    );
  } finally {
    await resolver?.close();
  }
  result.textOnlyShare = share(result.textOnly, result.records);
  result.turns = turns.toJSON();
  if (withTokens)
    result.tokens = tokensJson(model, options.template ?? null, unmeasurable, total, text, image, overhead);
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

function countPlacement(
  turns: readonly { value?: unknown }[],
  images: number,
  placement: StatsResult['imagePlacement'],
): void {
  let tokens = 0;
  for (const turn of turns) {
    const value = typeof turn.value === 'string' ? turn.value : '';
    const at = value.indexOf(IMAGE_TOKEN);
    if (at === -1) continue;
    for (let i = at; i !== -1; i = value.indexOf(IMAGE_TOKEN, i + IMAGE_TOKEN.length)) tokens++;
    const trimmed = value.trim();
    if (trimmed.startsWith(IMAGE_TOKEN)) placement.start++;
    else if (trimmed.endsWith(IMAGE_TOKEN)) placement.end++;
    else placement.middle++;
  }
  if (images > 0 && tokens === 0) placement.none++;
  if (tokens !== images && !(images > 0 && tokens === 0)) placement.mismatch++;
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

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
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
