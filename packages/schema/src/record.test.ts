import { describe, expect, it } from 'vitest';
import { countImageTokens, imagesOf, isLlavaRecord, llavaRecordSchema, parseRecord } from './record.js';

describe('canonical record schema', () => {
  it('keeps the id type, unknown keys, turn keys and order', () => {
    const value = {
      id: 2327515,
      image: 'gqa/images/2327515.jpg',
      model: '',
      conversations: [
        { from: 'human', value: '<image>\nAre there scarves?', extra: 1 },
        { from: 'gpt', value: 'Yes', markdown: { a: 1 } },
      ],
      data_source: 'x',
    };
    const result = parseRecord(value);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.record).toBe(value);
    // parseRecord returns the input object itself, so key order is the file's; zod alone keeps keys but reorders them.
    expect(Object.keys(result.record)).toEqual(['id', 'image', 'model', 'conversations', 'data_source']);
    expect(Object.keys(llavaRecordSchema.parse(value)).sort()).toEqual([
      'conversations',
      'data_source',
      'id',
      'image',
      'model',
    ]);
    expect(llavaRecordSchema.parse(value).conversations[1]).toEqual({ from: 'gpt', value: 'Yes', markdown: { a: 1 } });
  });

  it('accepts text-only records, image lists and video records', () => {
    expect(isLlavaRecord({ id: 'wgByO4Y_0', conversations: [] })).toBe(true);
    expect(isLlavaRecord({ image: ['a.jpg', 'b.jpg'], conversations: [] })).toBe(true);
    expect(isLlavaRecord({ video: 'a.mp4', conversations: [] })).toBe(true);
  });

  it('reports schema problems as JSON pointers', () => {
    const result = parseRecord({ id: 1.5, image: 3, conversations: [{ from: 'human' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.pointer).sort()).toEqual(['/conversations/0/value', '/id', '/image']);
    expect(parseRecord(null).ok).toBe(false);
    expect(parseRecord([]).ok).toBe(false);
  });

  it('counts <image> tokens and lists images', () => {
    expect(countImageTokens('<image>\nhi <image>')).toBe(2);
    expect(countImageTokens('<image<image>>')).toBe(1);
    expect(countImageTokens('no token')).toBe(0);
    expect(imagesOf({ image: 'a.jpg' })).toEqual(['a.jpg']);
    expect(imagesOf({ image: ['a.jpg', 'b.jpg'] })).toEqual(['a.jpg', 'b.jpg']);
    expect(imagesOf({})).toEqual([]);
  });
});
