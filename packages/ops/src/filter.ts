import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { imagesOf } from '@llavakit/schema';
import { Accounting } from './accounting.js';
import { ImageSizer, openResolver } from './images.js';
import { measureRecord } from './length.js';
import { locate, usageError } from './op-diagnostics.js';
import type { InputOptions, OpSummary, OutputOptions } from './op-types.js';
import { forEachItem } from './read-inputs.js';
import { RecordOutput } from './record-output.js';
import { opsRules } from './rules.js';
import { isTextOnly, sourceOf } from './source.js';
import { LlamaTokenCounter, type ModelPreset, needsImageSize } from './tokens.js';

/** Options of {@link filterRecords}: which records to keep. Every other record is rejected with its rule. */
export interface FilterOptions extends InputOptions, OutputOptions {
  /** Reject records whose full length (text + template overhead + image tokens) exceeds this (`length/over-max`). */
  readonly maxTokens?: number;
  /** Image-token preset for `maxTokens` (default `llava-1.5-336`). */
  readonly model?: ModelPreset;
  /** Conversation template whose rendering is measured (see `@llavakit/prompts`). */
  readonly template?: string;
  /** Reject records with fewer turns (`filter/min-turns`). */
  readonly minTurns?: number;
  /** Keep only records with an image (`filter/has-image`). */
  readonly hasImage?: boolean;
  /** Keep only text-only records (`filter/text-only`). */
  readonly textOnly?: boolean;
  /** Keep only records of these sources (see `sourceOf`; `filter/source`). */
  readonly sources?: readonly string[];
  /** Image sources (`--images` specs), for the AnyRes presets. */
  readonly images?: readonly string[];
}

/**
 * Keep the records that pass every rule and reject the others, each with the first rule it fails (the measured
 * length in the diagnostic's `data` for `length/over-max`). Streams; the output appears atomically.
 *
 * @example
 * ```ts
 * const summary = await filterRecords({ inputs: ['mix665k.json'], registry, output: 'fit.json', maxTokens: 2048, template: 'v1', rejects: 'too-long.jsonl' });
 * summary.rejectedByRule['length/over-max'];
 * ```
 */
export async function filterRecords(options: FilterOptions): Promise<OpSummary> {
  if (options.hasImage && options.textOnly) throw usageError('--has-image and --text-only exclude each other.');
  if (options.maxTokens !== undefined && !(options.maxTokens > 0))
    throw usageError('--max-tokens must be a positive number.');
  const model = options.model ?? 'llava-1.5-336';
  const measuring = options.maxTokens !== undefined;
  const resolver = measuring && needsImageSize(model) ? await openResolver(options.images) : undefined;
  if (measuring && needsImageSize(model) && !resolver)
    throw usageError(`--model ${model} reads image sizes: pass --images.`);
  const sizer = new ImageSizer(resolver);
  const counter = measuring ? await LlamaTokenCounter.create() : undefined;
  const wanted = options.sources ? new Set(options.sources) : undefined;
  const accounting = new Accounting(options.rejects);
  try {
    const output = accounting.output(RecordOutput.open(options.output, { ...options }));
    await forEachItem(options, accounting, async (item) => {
      if (!item.ok) return accounting.reject(item, item.diagnostics);
      const record = item.record;
      const fail = (
        rule: (typeof opsRules)[keyof typeof opsRules],
        message: string,
        data?: Record<string, unknown>,
      ): Diagnostic => locate(item, diagnose(rule, { message, source: 'filter', ...(data ? { data } : {}) }));
      let problem: Diagnostic | undefined;
      const paths = imagesOf(record);
      if (options.minTurns !== undefined && record.conversations.length < options.minTurns) {
        problem = fail(
          opsRules.minTurns,
          `${record.conversations.length} turns, fewer than --min-turns ${options.minTurns}.`,
          { turns: record.conversations.length },
        );
      } else if (options.hasImage && paths.length === 0) {
        problem = fail(opsRules.hasImage, 'The record has no image.');
      } else if (options.textOnly && !isTextOnly(record)) {
        problem = fail(opsRules.textOnly, 'The record has an image.');
      } else if (wanted && !wanted.has(sourceOf(record))) {
        problem = fail(opsRules.source, `Source "${sourceOf(record)}" is not among ${[...wanted].join(', ')}.`, {
          source: sourceOf(record),
        });
      } else if (measuring) {
        if (resolver && paths.length > 0) await sizer.load(paths);
        const length = measureRecord(record, {
          counter: counter!,
          model,
          ...(options.template ? { template: options.template } : {}),
          imageSize: (path) => sizer.sizeOf(path),
        });
        if ('unmeasurable' in length)
          problem = fail(opsRules.lengthUnmeasurable, `Cannot measure: ${length.unmeasurable}.`);
        else if (length.total > options.maxTokens!) {
          problem = fail(
            opsRules.overMax,
            `${length.total} tokens (text ${length.text}, template ${length.overhead}, images ${length.image}) exceed --max-tokens ${options.maxTokens}.`,
            {
              tokens: length.total,
              text: length.text,
              overhead: length.overhead,
              image: length.image,
              max: options.maxTokens,
              model,
            },
          );
        }
      }
      if (problem) return accounting.reject(item, [problem]);
      await accounting.write(output, item);
    });
  } catch (error) {
    await resolver?.close();
    return accounting.fail(error);
  }
  await resolver?.close();
  return accounting.finish();
}
