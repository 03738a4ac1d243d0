import { countImageTokens, IMAGE_TOKEN } from '@llavakit/schema';
import * as z from 'zod';
import { IMAGE_POLICY_EVENTS } from './image-events.js';

export { IMAGE_POLICY_EVENTS };

/**
 * What a writer does with the `<image>` tokens of a record (`--image-token`):
 *
 * - `keep`: the tokens stay where they are written, as literal `<image>` text;
 * - `front`: every turn holding tokens gets them moved to its front, one `"<image>\n"` per token, the rest of the
 *   text trimmed, as LLaVA's `preprocess_multimodal` does; a record with images but no token gets them added at the
 *   front of its first human turn;
 * - `strip`: the tokens are removed from the text (with LLaVA's trimming); the images live only in the images column;
 * - `parts`: the tokens become content parts at their positions (`{"type": "image"}`, `image_url`, …);
 * - `per-token`: like `keep`/`parts`, and a record with one image but several tokens gets that image once per token
 *   (LLaMA-Factory's own demo data does this).
 */
export type ImageTokenPolicy = 'keep' | 'front' | 'strip' | 'parts' | 'per-token';

/** All policies, in the order the CLI lists them. */
export const IMAGE_TOKEN_POLICIES: readonly ImageTokenPolicy[] = ['keep', 'front', 'strip', 'parts', 'per-token'];

/**
 * The `imageToken` option of a format: the policies it supports, with its default.
 *
 * @example
 * ```ts
 * const optionsSchema = z.object({ imageToken: imageTokenOption(['keep', 'front', 'per-token'], 'per-token') });
 * ```
 */
export function imageTokenOption<const P extends readonly [ImageTokenPolicy, ...ImageTokenPolicy[]]>(
  allowed: P,
  fallback: P[number],
) {
  return z
    .enum(allowed)
    .default(fallback as never)
    .describe(`<image> policy: ${allowed.join(' | ')} (default ${fallback}); see the writer README.`);
}

/** One piece of a turn's content after placement: text, or the image at an index of the output image list. */
export type Segment = string | { readonly image: number };

/** A turn as {@link placeImages} sees it. */
export interface PlaceTurn {
  readonly from: string;
  readonly value: string;
}

/** Options of {@link placeImages}. */
export interface PlaceOptions {
  /** Reject a record whose token count and image count disagree after the policy (default `true`). */
  readonly requireMatch?: boolean;
  /** Role of the turn that receives images when `front` adds missing tokens (default `human`). */
  readonly userRole?: string;
  /** The writer renders slots as content parts (counted as `image-token:content-parts` rather than `kept`). */
  readonly parts?: boolean;
}

/** A successful placement. */
export interface Placement {
  readonly ok: true;
  readonly policy: ImageTokenPolicy;
  /** Each turn's text after the policy, with `<image>` tokens where image slots are (none for `strip`). */
  readonly texts: readonly string[];
  /** Which turns' text changed. */
  readonly changed: readonly boolean[];
  /** The output image list (repeated for `per-token` when needed). */
  readonly images: readonly string[];
  /** `<image>` tokens in {@link texts}. */
  readonly tokens: number;
  /** What the policy did, as summary counter names (e.g. `image-token:moved-to-front`). */
  readonly events: readonly string[];
}

/** A record whose tokens and images cannot be reconciled by the policy. */
export interface PlacementMismatch {
  readonly ok: false;
  readonly policy: ImageTokenPolicy;
  readonly tokens: number;
  readonly images: number;
  readonly message: string;
}

/**
 * Apply an `<image>` policy to a record's turns and images: where the tokens go, and which image list the output
 * holds. Pure: the caller renders the result (strings with tokens, or content parts via {@link segmentsOf}).
 *
 * @example
 * ```ts
 * placeImages([{ from: 'human', value: 'What is this?\n<image>' }], ['a.jpg'], 'front');
 * // { ok: true, texts: ['<image>\nWhat is this?'], images: ['a.jpg'], tokens: 1, events: ['image-token:moved-to-front'], … }
 * ```
 */
export function placeImages(
  turns: readonly PlaceTurn[],
  images: readonly string[],
  policy: ImageTokenPolicy,
  options: PlaceOptions = {},
): Placement | PlacementMismatch {
  const requireMatch = options.requireMatch ?? true;
  const texts: string[] = new Array(turns.length);
  const changed: boolean[] = new Array(turns.length).fill(false);
  const events: string[] = [];
  let found = 0;
  const counts: number[] = new Array(turns.length);
  for (let i = 0; i < turns.length; i++) {
    const value = turns[i]!.value;
    const n = value.includes(IMAGE_TOKEN) ? countImageTokens(value) : 0;
    counts[i] = n;
    found += n;
    texts[i] = value;
  }
  let tokens = found;
  let list: readonly string[] = images;

  if (policy === 'front') {
    let moved = false;
    for (let i = 0; i < turns.length; i++) {
      const n = counts[i]!;
      if (n === 0) continue;
      const next = frontText(texts[i]!, n);
      if (next !== texts[i]) {
        texts[i] = next;
        changed[i] = true;
        moved = true;
      }
    }
    if (moved) events.push(IMAGE_POLICY_EVENTS.front);
    if (found === 0 && images.length > 0) {
      const role = options.userRole ?? 'human';
      let target = turns.findIndex((t) => t.from === role);
      if (target === -1) target = turns.findIndex((t) => t.from !== 'system');
      if (target !== -1) {
        texts[target] = frontText(texts[target]!, images.length);
        changed[target] = true;
        tokens = images.length;
        events.push(IMAGE_POLICY_EVENTS.added);
      }
    }
  } else if (policy === 'strip') {
    for (let i = 0; i < turns.length; i++) {
      if (counts[i] === 0) continue;
      texts[i] = texts[i]!.replaceAll(IMAGE_TOKEN, '').trim();
      changed[i] = texts[i] !== turns[i]!.value;
    }
    if (found > 0) events.push(IMAGE_POLICY_EVENTS.stripped);
    return { ok: true, policy, texts, changed, images: list, tokens: 0, events };
  } else if (found > 0) {
    events.push(policy === 'parts' || options.parts ? IMAGE_POLICY_EVENTS.parts : IMAGE_POLICY_EVENTS.kept);
  }

  if (policy === 'per-token' && images.length === 1 && tokens > 1) {
    list = Array.from({ length: tokens }, () => images[0]!);
    events.push(IMAGE_POLICY_EVENTS.repeated);
  }
  if (requireMatch && list.length !== tokens) {
    return {
      ok: false,
      policy,
      tokens,
      images: images.length,
      message: `The record has ${images.length} image(s) but ${tokens} ${IMAGE_TOKEN} token(s)${policy === 'front' ? ' after moving them to the front' : ''}; the target needs one image per token.`,
    };
  }
  return { ok: true, policy, texts, changed, images: list, tokens, events };
}

/** LLaVA's move-to-front: drop the tokens, trim, and put one `<image>\n` per token in front. */
function frontText(text: string, n: number): string {
  const rest = text.replaceAll(IMAGE_TOKEN, '').trim();
  return `${`${IMAGE_TOKEN}\n`.repeat(n)}${rest}`.trim();
}

/**
 * Split a text into text pieces and image slots at its `<image>` tokens, numbering the slots from `first`. Empty text
 * pieces are left out, so joining the pieces (with a token per slot) gives the text back exactly.
 *
 * @example
 * ```ts
 * segmentsOf('<image>\nWhat is it?', 0); // [{ image: 0 }, '\nWhat is it?']
 * ```
 */
export function segmentsOf(text: string, first: number): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  let next = first;
  for (let at = text.indexOf(IMAGE_TOKEN); at !== -1; at = text.indexOf(IMAGE_TOKEN, start)) {
    if (at > start) out.push(text.slice(start, at));
    out.push({ image: next++ });
    start = at + IMAGE_TOKEN.length;
  }
  if (start < text.length || out.length === 0) out.push(text.slice(start));
  return out;
}
