import { fc, test } from '@fast-check/vitest';
import llamaTokenizer from 'llama-tokenizer-js';
import { describe, expect, it } from 'vitest';
import { createDefaultMetrics, sourceOf } from './metrics.js';
import { createLlamaTokenCounter } from './tokens.js';

const encode = (text: string) => llamaTokenizer.encode(text, false, true, false).length;

describe('createLlamaTokenCounter', () => {
  it('counts with the real LLaMA vocabulary', () => {
    // the ids of "Hello, my dog is cute" are [1, 15043, 29892, 590, 11203, 338, 274, 1082] with BOS
    expect(llamaTokenizer.encode('Hello, my dog is cute')).toEqual([1, 15043, 29892, 590, 11203, 338, 274, 1082]);
    expect(createLlamaTokenCounter().count('Hello, my dog is cute')).toBe(7);
    expect(createLlamaTokenCounter().count('')).toBe(0);
  });

  const word = fc.oneof(
    fc.constantFrom('the', 'dog', 'Hello,', 'image', 'skateboard', 'déjà', '日本語', 'ZEBRA', '"quoted"', '3.14', 'a'),
    fc.string({ minLength: 1, maxLength: 8 }),
  );
  const gap = fc.constantFrom(' ', ' ', ' ', '  ', '\n', '\n\n', ' \n', '\t', '', '   ');
  const text = fc.array(fc.tuple(word, gap), { maxLength: 30 }).map((parts) => parts.map(([w, g]) => w + g).join(''));

  test.prop([text, fc.constantFrom(' ', '', '\n')], { numRuns: 300 })(
    'gives the counts of encoding the whole text, cache or not',
    (body, lead) => {
      const counter = createLlamaTokenCounter(8);
      const input = lead + body;
      expect(counter.count(input)).toBe(encode(input));
      expect(counter.count(input)).toBe(encode(input)); // again, from the cache
    },
  );
});

describe('default metrics', () => {
  const metrics = createDefaultMetrics();
  it('take the source from data_source, else the first image folder, else text-only', () => {
    expect(sourceOf({ data_source: 'ocr_vqa', image: 'coco/x.jpg' })).toBe('ocr_vqa');
    expect(sourceOf({ image: 'coco/train2017/x.jpg' })).toBe('coco');
    expect(sourceOf({ image: ['./vg/VG_100K/1.jpg', 'gqa/2.jpg'] })).toBe('vg');
    expect(sourceOf({ image: 'GCC_train_1.jpg' })).toBe('(bare)');
    expect(sourceOf({ conversations: [] })).toBe('text-only');
    expect(sourceOf([1, 2])).toBe('text-only');
  });
  it('count turns, images and text tokens without the <image> placeholders', () => {
    const record = {
      image: ['a.jpg', 'b.jpg', 3],
      conversations: [
        { from: 'human', value: '<image>\n<image>\nHello, my dog is cute' },
        { from: 'gpt', value: 'Hello, my dog is cute' },
        { from: 'gpt', value: 42 },
      ],
    };
    expect(metrics.summarize(record)).toEqual({ source: '(bare)', turns: 3, images: 2 });
    expect(metrics.tokens(record)).toBe(encode('\n\nHello, my dog is cute') + 7);
    expect(metrics.tokens({ conversations: 'nope' })).toBe(0);
  });
});
