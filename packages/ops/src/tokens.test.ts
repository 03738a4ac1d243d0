import { fc, test } from '@fast-check/vitest';
import llamaTokenizer from 'llama-tokenizer-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { promptTokens } from './length.js';
import { imageTokens, LlamaTokenCounter, selectBestResolution } from './tokens.js';

describe('LLaMA tokenizer (llama-tokenizer-js 1.2.2)', () => {
  let counter: LlamaTokenCounter;
  let counterOf8: LlamaTokenCounter;
  beforeAll(async () => {
    counter = await LlamaTokenCounter.create();
    counterOf8 = await LlamaTokenCounter.create(8);
  });

  it('gives the known LLaMA ids', () => {
    // Known LLaMA / Vicuna ids (reference: hub-and-prep.md §3, the package's own test cases).
    expect(counter.encode('Hello, my dog is cute')).toEqual([1, 15043, 29892, 590, 11203, 338, 274, 1082]);
    expect(counter.encode('Hello world')).toEqual([1, 15043, 3186]);
    expect(counter.encode('grabbed')).toEqual([1, 2646, 1327, 287]);
    expect(counter.encode(' grabbed')).toEqual([1, 29871, 2646, 1327, 287]);
    expect(counter.encode('\n')).toEqual([1, 29871, 13]);
    expect(counter.encode('🦙')).toEqual([1, 29871, 243, 162, 169, 156]);
  });

  it('counts without BOS, the empty text as 0', () => {
    expect(counter.count('Hello, my dog is cute')).toBe(7);
    expect(counter.count('')).toBe(0);
  });

  const word = fc.constantFrom(
    'the',
    'cat',
    '镇',
    '🦙',
    'grabbed',
    '12345',
    'ax',
    '####',
    'Ꙋ',
    'x',
    '<image>',
    "don't",
  );
  const gap = fc.constantFrom(' ', '  ', '   ', '\n', '\n\n', '\t', ' \n ', '', '.', ', ');
  const text = fc.array(fc.tuple(word, gap), { maxLength: 30 }).map((parts) => parts.map(([w, g]) => w + g).join(''));

  test.prop([fc.oneof(text, fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }))], {
    numRuns: 300,
  })('the segment cache counts exactly what encoding the whole text gives', (t) => {
    const whole = t === '' ? 0 : llamaTokenizer.encode(t, false, true).length;
    expect(counterOf8.count(t)).toBe(whole);
    expect(counterOf8.count(t)).toBe(whole); // cached
  });

  it('counts a prompt as tokenizer_image_token does: BOS, then each chunk between <image> on its own', () => {
    expect(promptTokens('<image>\nHello world', counter)).toBe(1 + counter.count('\nHello world'));
    expect(promptTokens('A <image> B', counter)).toBe(1 + counter.count('A ') + counter.count(' B'));
  });
});

describe('image tokens', () => {
  it('by preset', () => {
    expect(imageTokens('llava-1.5-336')).toBe(576);
    expect(imageTokens('llava-1.5-224')).toBe(256);
    expect(imageTokens('llava-next-anyres')).toBeUndefined();
  });

  it('AnyRes: 672×672 is a 2×2 grid plus the base view, 2,880 tokens; unpadded 2,928', () => {
    expect(selectBestResolution(672, 672)).toEqual([672, 672]);
    expect(imageTokens('llava-next-anyres', { width: 672, height: 672 })).toBe(2880);
    expect(imageTokens('llava-next-anyres-unpad', { width: 672, height: 672 })).toBe(2928);
  });

  it('AnyRes picks the pinpoint that keeps the most pixels', () => {
    expect(selectBestResolution(640, 480)).toEqual([672, 672]);
    expect(selectBestResolution(1000, 300)).toEqual([1008, 336]);
    expect(selectBestResolution(300, 1000)).toEqual([336, 1008]);
    expect(selectBestResolution(800, 400)).toEqual([672, 336]);
    expect(imageTokens('llava-next-anyres', { width: 1000, height: 300 })).toBe(576 * 4);
    // transformers' count for 640×480 in a 2×2 grid: 48 × 36 unpadded + 36 newlines + 576.
    expect(imageTokens('llava-next-anyres-unpad', { width: 640, height: 480 })).toBe(48 * 36 + 36 + 576);
  });
});
