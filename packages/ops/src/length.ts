import { DiagnosticError } from '@llavakit/diagnostics';
import { renderConversation } from '@llavakit/prompts';
import { IMAGE_TOKEN, imagesOf, type LlavaRecord } from '@llavakit/schema';
import { imageTokens, type LlamaTokenCounter, type ModelPreset, needsImageSize } from './tokens.js';

/** How a record's length is measured. */
export interface LengthOptions {
  /** The token counter (one per run: it caches). */
  readonly counter: LlamaTokenCounter;
  /** Image tokens per image by this preset (default `llava-1.5-336`). */
  readonly model?: ModelPreset;
  /**
   * A LLaVA conversation template (`v1`, `llava_llama_2`, `plain`, … see `@llavakit/prompts`): the length is the
   * rendered training prompt's, so the system prompt, role names and separators count.
   */
  readonly template?: string;
  /** The size of an image (for AnyRes presets), already read from its header; undefined when unknown. */
  readonly imageSize?: (path: string) => { width: number; height: number } | undefined;
}

/** The measured length of one record, in tokens. */
export interface RecordLength {
  /** Text tokens of the turns as written (BOS + every chunk between `<image>` tokens). */
  readonly text: number;
  /** Image tokens (per image by the model preset). */
  readonly image: number;
  /** Tokens the template adds (system prompt, roles, separators); 0 without template. */
  readonly overhead: number;
  /** text + overhead + image: what the LLM sees. */
  readonly total: number;
}

/** Why a record could not be measured. */
export interface Unmeasurable {
  readonly unmeasurable: string;
}

/**
 * Tokens of a prompt as LLaVA's `tokenizer_image_token` counts them: BOS, then each piece between `<image>`
 * tokens encoded on its own (the image placeholders themselves are not text tokens).
 */
export function promptTokens(text: string, counter: LlamaTokenCounter): number {
  let total = 1;
  let start = 0;
  for (let at = text.indexOf(IMAGE_TOKEN); at !== -1; at = text.indexOf(IMAGE_TOKEN, start)) {
    total += counter.count(text.slice(start, at));
    start = at + IMAGE_TOKEN.length;
  }
  return total + counter.count(start === 0 ? text : text.slice(start));
}

/**
 * Measure one record: text tokens with the LLaMA tokenizer, image tokens by the model preset, and the template's
 * overhead when a template is given.
 *
 * @example
 * ```ts
 * measureRecord(record, { counter: await LlamaTokenCounter.create(), model: 'llava-1.5-336', template: 'v1' });
 * // { text: 42, image: 576, overhead: 39, total: 657 }
 * ```
 */
export function measureRecord(record: LlavaRecord, options: LengthOptions): RecordLength | Unmeasurable {
  const { counter } = options;
  let text = 1;
  for (const turn of record.conversations) {
    const value = typeof turn.value === 'string' ? turn.value : '';
    text += promptTokens(value, counter) - 1;
  }
  let overhead = 0;
  if (options.template) {
    try {
      overhead = promptTokens(renderConversation(record, { template: options.template }), counter) - text;
    } catch (error) {
      if (DiagnosticError.is(error))
        return { unmeasurable: `template ${options.template}: ${error.diagnostic.message}` };
      throw error;
    }
  }
  const model = options.model ?? 'llava-1.5-336';
  let image = 0;
  for (const path of imagesOf(record)) {
    const size = needsImageSize(model) ? options.imageSize?.(path) : undefined;
    const n = imageTokens(model, size);
    if (n === undefined) return { unmeasurable: `the size of image "${path}" is unknown (${model} needs it)` };
    image += n;
  }
  return { text, image, overhead, total: text + overhead + image };
}
