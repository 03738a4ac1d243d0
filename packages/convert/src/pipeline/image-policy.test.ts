import { describe, expect, it } from 'vitest';
import { placeImages, segmentsOf } from './image-policy.js';

const human = (value: string) => ({ from: 'human', value });
const gpt = (value: string) => ({ from: 'gpt', value });

describe('placeImages', () => {
  it('keep leaves the text alone and counts the record', () => {
    const result = placeImages([human('Q?\n<image>'), gpt('A')], ['a.jpg'], 'keep');
    expect(result).toMatchObject({ ok: true, texts: ['Q?\n<image>', 'A'], images: ['a.jpg'], tokens: 1 });
    expect(result.ok && result.events).toEqual(['image-token:kept']);
  });

  it('front moves tokens as LLaVA training does (remove, strip, prepend "<image>\\n")', () => {
    const result = placeImages([human('  Q?\n<image>  '), human('a <image> b'), gpt('A')], ['x', 'y'], 'front');
    expect(result).toMatchObject({
      ok: true,
      texts: ['<image>\nQ?', '<image>\na  b', 'A'],
      changed: [true, true, false],
    });
  });

  it('front keeps one token per image of a turn, and a lone token stays "<image>"', () => {
    const result = placeImages([human('<image> and <image>'), human('<image>')], ['x', 'y', 'z'], 'front');
    expect(result).toMatchObject({ ok: true, texts: ['<image>\n<image>\nand', '<image>'], tokens: 3 });
  });

  it('front adds the missing tokens to the first human turn of a record with images but no token', () => {
    const result = placeImages([{ from: 'system', value: 's' }, human('What is it?'), gpt('A')], ['x'], 'front');
    expect(result).toMatchObject({ ok: true, texts: ['s', '<image>\nWhat is it?', 'A'], tokens: 1 });
    expect(result.ok && result.events).toEqual(['image-token:added-at-front']);
  });

  it('strip removes the tokens and never mismatches', () => {
    const result = placeImages([human('<image>\nQ?'), gpt('A <image>')], [], 'strip');
    expect(result).toMatchObject({ ok: true, texts: ['Q?', 'A'], tokens: 0, images: [] });
    expect(result.ok && result.events).toEqual(['image-token:stripped']);
  });

  it('per-token repeats a single image once per token; keep and parts reject that record', () => {
    const turns = [human('<image>Who?'), gpt('Them.'), human('Doing?<image>'), gpt('Playing.')];
    const repeated = placeImages(turns, ['1.jpg'], 'per-token');
    expect(repeated).toMatchObject({ ok: true, images: ['1.jpg', '1.jpg'], tokens: 2 });
    expect(repeated.ok && repeated.events).toEqual(['image-token:kept', 'images:repeated-per-token']);
    for (const policy of ['keep', 'parts'] as const) {
      expect(placeImages(turns, ['1.jpg'], policy)).toMatchObject({ ok: false, tokens: 2, images: 1 });
    }
  });

  it('rejects disagreeing counts with a message, unless requireMatch is off', () => {
    const turns = [human('no token'), gpt('A')];
    const result = placeImages(turns, ['a.jpg'], 'keep');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toBe(
      'The record has 1 image(s) but 0 <image> token(s); the target needs one image per token.',
    );
    expect(placeImages(turns, ['a.jpg'], 'keep', { requireMatch: false }).ok).toBe(true);
    expect(placeImages([human('<image>'), gpt('x')], [], 'per-token').ok).toBe(false);
  });
});

describe('segmentsOf', () => {
  it('splits at tokens, numbering slots, without empty text pieces', () => {
    expect(segmentsOf('<image>\nQ?', 0)).toEqual([{ image: 0 }, '\nQ?']);
    expect(segmentsOf('a<image><image>b', 3)).toEqual(['a', { image: 3 }, { image: 4 }, 'b']);
    expect(segmentsOf('', 0)).toEqual(['']);
    expect(segmentsOf('<image>', 0)).toEqual([{ image: 0 }]);
  });
});
