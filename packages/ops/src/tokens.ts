import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LlamaTokenizer } from 'llama-tokenizer-js';

let loading: Promise<LlamaTokenizer> | undefined;

/** The tokenizer, imported on first use (decoding its vocabulary takes a moment, so commands that count no tokens skip it). */
function loadTokenizer(): Promise<LlamaTokenizer> {
  loading ??= import('llama-tokenizer-js').then((m) => {
    collectGarbage();
    return m.default;
  });
  return loading;
}

/**
 * Counts LLaMA / Vicuna tokens with the real LLaMA SentencePiece vocabulary of `llama-tokenizer-js` (the tokenizer
 * of LLaVA-1.5's Vicuna-7B/13B). Text is split into segments no merge can cross (a run of spaces followed by a
 * word — no LLaMA piece ends in `▁` or holds `▁` after other characters), and segment counts are cached, which
 * makes counting ~40× faster than encoding each text whole, with the same result (a property test proves it).
 */
export class LlamaTokenCounter {
  readonly #cache = new Map<string, number>();
  readonly #limit: number;
  readonly #tokenizer: LlamaTokenizer;

  private constructor(tokenizer: LlamaTokenizer, cacheEntries: number) {
    this.#tokenizer = tokenizer;
    this.#limit = cacheEntries;
  }

  /**
   * Load the vocabulary and make a counter.
   *
   * @param cacheEntries - distinct segments remembered (memory bound; the cache is cleared when full).
   */
  static async create(cacheEntries = 200_000): Promise<LlamaTokenCounter> {
    return new LlamaTokenCounter(await loadTokenizer(), cacheEntries);
  }

  /**
   * Tokens of a text as SentencePiece encodes it with its dummy prefix space and without BOS (what one chunk of
   * LLaVA's `tokenizer_image_token` contributes). The empty text has 0 tokens.
   *
   * @example
   * ```ts
   * (await LlamaTokenCounter.create()).count('Hello world'); // 2 (ids 15043, 3186)
   * ```
   */
  count(text: string): number {
    if (text.length === 0) return 0;
    // Segments of " " + text: a run of spaces, then everything up to the next space (or the end). The first
    // segment carries the dummy prefix space.
    const length = text.length;
    let total = 0;
    let start = 0;
    let first = true;
    while (start < length || first) {
      let i = start;
      while (i < length && text.charCodeAt(i) === 32) i++;
      let end = i < length ? text.indexOf(' ', i) : length;
      if (end === -1) end = length;
      const segment = first ? ` ${text.slice(start, end)}` : text.slice(start, end);
      first = false;
      let n = this.#cache.get(segment);
      if (n === undefined) {
        n = this.#tokenizer.encode(segment, false, false).length;
        if (this.#cache.size >= this.#limit) this.#cache.clear();
        this.#cache.set(segment, n);
      }
      total += n;
      start = end;
    }
    return total;
  }

  /** The ids of a text with BOS (`1`), as `tokenizer(text).input_ids` gives them (no cache; for checks). */
  encode(text: string): number[] {
    return this.#tokenizer.encode(text, true, true);
  }
}

/** The model presets for image tokens. */
export const MODEL_PRESETS = [
  'llava-1.5-336',
  'llava-1.5-224',
  'llava-next-anyres',
  'llava-next-anyres-unpad',
] as const;
/** A model preset name. */
export type ModelPreset = (typeof MODEL_PRESETS)[number];

/** LLaVA-NeXT (v1.6) `image_grid_pinpoints`, as [width, height]. */
export const ANYRES_PINPOINTS: readonly (readonly [number, number])[] = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

/**
 * LLaVA-NeXT's `select_best_resolution`: the pinpoint that keeps the most of the image's pixels after fitting it
 * inside, then wastes the least. Returns [width, height].
 */
export function selectBestResolution(
  width: number,
  height: number,
  pinpoints: readonly (readonly [number, number])[] = ANYRES_PINPOINTS,
): readonly [number, number] {
  let best = pinpoints[0]!;
  let bestEffective = -1;
  let bestWasted = Number.POSITIVE_INFINITY;
  for (const candidate of pinpoints) {
    const [w, h] = candidate;
    const scale = Math.min(w / width, h / height);
    const dw = Math.trunc(width * scale);
    const dh = Math.trunc(height * scale);
    const effective = Math.min(dw * dh, width * height);
    const wasted = w * h - effective;
    if (effective > bestEffective || (effective === bestEffective && wasted < bestWasted)) {
      best = candidate;
      bestEffective = effective;
      bestWasted = wasted;
    }
  }
  return best;
}

/**
 * Image tokens of one image for a model preset:
 * - `llava-1.5-336`: (336/14)² = 576; `llava-1.5-224`: (224/14)² = 256 (size not needed);
 * - `llava-next-anyres`: the AnyRes grid: the base 336² view plus one 576-token view per grid cell of the best
 *   pinpoint (672×672 → 2 × 2 cells → 5 × 576 = 2,880);
 * - `llava-next-anyres-unpad`: what LLaVA-NeXT's `spatial_unpad` merge actually feeds the LLM (the Hugging Face
 *   processor's count): the grid's 24-patch rows and columns with the padding removed, one newline token per row,
 *   plus the 576 base tokens (672×672 → 2,928).
 *
 * Returns `undefined` for the AnyRes presets when the size is not known.
 */
export function imageTokens(
  model: ModelPreset,
  size?: { readonly width: number; readonly height: number },
): number | undefined {
  if (model === 'llava-1.5-336') return 576;
  if (model === 'llava-1.5-224') return 256;
  if (!size || !(size.width > 0) || !(size.height > 0)) return undefined;
  const [bw, bh] = selectBestResolution(size.width, size.height);
  const cols = bw / 336;
  const rows = bh / 336;
  if (model === 'llava-next-anyres') return 576 * (1 + cols * rows);
  // transformers LlavaNextProcessor._get_unpadded_features, patch grid of 24 per 336 tile.
  let currentHeight = 24 * rows;
  let currentWidth = 24 * cols;
  const originalAspect = size.width / size.height;
  const currentAspect = currentWidth / currentHeight;
  if (originalAspect > currentAspect) {
    const newHeight = Math.trunc(roundTo(size.height * (currentWidth / size.width), 7));
    const padding = Math.trunc((currentHeight - newHeight) / 2);
    currentHeight -= padding * 2;
  } else {
    const newWidth = Math.trunc(roundTo(size.width * (currentHeight / size.height), 7));
    const padding = Math.trunc((currentWidth - newWidth) / 2);
    currentWidth -= padding * 2;
  }
  return currentHeight * currentWidth + currentHeight + 576;
}

/** True for the presets whose count depends on the image size. */
export function needsImageSize(model: ModelPreset): boolean {
  return model === 'llava-next-anyres' || model === 'llava-next-anyres-unpad';
}

function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * One full garbage collection, once the tokenizer is loaded: decoding its vocabulary leaves ~11 MB of garbage in the
 * old generation, where it would stay for most of a run (no full collection comes before the heap grows); it took
 * `llava stats` of a 224 MB file over 200 MiB of peak RSS, in one thread and with two workers. `gc` is exposed to one
 * new context only, and the flag is turned off again at once. Nothing depends on it: where it cannot run, the garbage
 * waits for V8.
 */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    exposed(); // (the process runs with --expose-gc: nothing to switch)
    return;
  }
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // (memory only)
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
