import { createRequire } from 'node:module';
import type { LlamaTokenizer } from 'llama-tokenizer-js';

let loaded: LlamaTokenizer | undefined;

/**
 * The LLaMA vocabulary, loaded on the first count (about 30 MiB once parsed): a thread that never counts (the
 * viewer's main thread while its records thread counts) never holds it. `require` of the ES module is synchronous
 * (Node ≥ 20.19), so counting stays synchronous.
 */
function llama(): LlamaTokenizer {
  loaded ??= (createRequire(import.meta.url)('llama-tokenizer-js') as { default: LlamaTokenizer }).default;
  return loaded;
}

/** Counts text tokens; {@link createLlamaTokenCounter} makes the default one. */
export interface TokenCounter {
  /** The tokenizer's name, shown in the page (`llama`). */
  readonly name: string;
  /** Number of tokens of `text` (no BOS token), as the tokenizer encodes it. */
  count(text: string): number;
}

const SPACE = 0x20;

function isSpace(code: number): boolean {
  // what the regex `\s` matches in the ASCII range, plus NBSP; other code points never start or end a piece here
  return code === SPACE || (code >= 0x09 && code <= 0x0d) || code === 0xa0;
}

/**
 * A token counter over the real LLaMA / Vicuna vocabulary (`llama-tokenizer-js`), with the same counts as
 * `encode(text, false)` but much faster on natural text: SentencePiece never merges across a single space between two
 * words (every piece starts with `▁`), so the text is cut before each such space and each piece (`" word,"`) is
 * counted once and remembered (up to `cacheSize` distinct pieces, then the memory is cleared).
 *
 * @example
 * ```ts
 * createLlamaTokenCounter().count('Hello, my dog is cute'); // 7
 * ```
 */
export function createLlamaTokenCounter(cacheSize = 200_000): TokenCounter {
  const cache = new Map<string, number>();
  const piece = (text: string): number => {
    let n = cache.get(text);
    if (n === undefined) {
      n = llama().encode(text, false, false, false).length;
      if (cache.size >= cacheSize) cache.clear();
      cache.set(text, n);
    }
    return n;
  };
  return {
    name: 'llama',
    count(text) {
      if (text.length === 0) return 0;
      // the first piece gets the dummy-prefix space LLaMA adds; later pieces start with their own space
      let cut = -1;
      for (let i = 1; i < text.length - 1; i++) {
        if (text.charCodeAt(i) === SPACE && !isSpace(text.charCodeAt(i - 1)) && !isSpace(text.charCodeAt(i + 1))) {
          cut = i;
          break;
        }
      }
      if (cut < 0) return llama().encode(text, false, true, false).length;
      let total = llama().encode(text.slice(0, cut), false, true, false).length;
      let start = cut;
      for (let i = cut + 1; i < text.length - 1; i++) {
        if (text.charCodeAt(i) === SPACE && !isSpace(text.charCodeAt(i - 1)) && !isSpace(text.charCodeAt(i + 1))) {
          total += piece(text.slice(start, i));
          start = i;
        }
      }
      return total + piece(text.slice(start));
    },
  };
}
