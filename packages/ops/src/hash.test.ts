import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { conversationKey, KeyTable, key64, normalizedConversation, textKey } from './hash.js';

const piece = fc.constantFrom(
  'a',
  'B',
  ' ',
  '  ',
  '\n',
  '\t',
  '\u00a0',
  '\u3000',
  '\ufeff',
  '<image>',
  '<imag',
  'é',
  '🦙',
  '\u0000',
  'x y',
);
const value = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
const turn = fc.record({ from: fc.constantFrom('human', 'gpt', 'USER', 'assistant', 'system'), value });
const record = fc.record({ conversations: fc.array(turn, { maxLength: 5 }) });

describe('conversation keys', () => {
  test.prop([record], { numRuns: 500 })('hash exactly the normalised text, without building it', (r) => {
    expect(conversationKey(r)).toEqual(textKey(normalizedConversation(r)));
  });

  it('normalises roles, whitespace and <image>', () => {
    const a = {
      conversations: [
        { from: 'human', value: '<image>\nWhat  is\tit? ' },
        { from: 'gpt', value: 'A cat.' },
      ],
    };
    const b = {
      conversations: [
        { from: 'user', value: 'What is it?<image>' },
        { from: 'assistant', value: ' A cat.' },
      ],
    };
    const c = {
      conversations: [
        { from: 'human', value: 'What is it!' },
        { from: 'gpt', value: 'A cat.' },
      ],
    };
    expect(conversationKey(a)).toEqual(conversationKey(b));
    expect(conversationKey(a)).not.toEqual(conversationKey(c));
    expect(normalizedConversation(a)).toBe('human\u0000What is it?\u0001gpt\u0000A cat.');
  });

  test.prop([fc.uniqueArray(fc.string({ maxLength: 20 }), { maxLength: 300 })])(
    'distinct texts get distinct keys',
    (texts) => {
      expect(new Set(texts.map((t) => JSON.stringify(textKey(t)))).size).toBe(texts.length);
    },
  );
});

describe('KeyTable', () => {
  test.prop([fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 2000 })])(
    'behaves like a Map of first positions',
    (values) => {
      const table = new KeyTable(4);
      const map = new Map<number, number>();
      values.forEach((v, i) => {
        const key = v === 0 ? { hi: 0, lo: 0 } : key64(String(v));
        const previous = table.putIfAbsent(key, i);
        expect(previous).toBe(map.get(v));
        if (!map.has(v)) map.set(v, i);
      });
      expect(table.size).toBe(map.size);
      for (const [v, i] of map) expect(table.get(v === 0 ? { hi: 0, lo: 0 } : key64(String(v)))).toBe(i);
    },
  );
});

test.prop([fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 1500 })])('KeyTable as a set', (values) => {
  const table = new KeyTable(4, false);
  const seen = new Set<number>();
  for (const v of values) {
    const key = v === 0 ? { hi: 0, lo: 0 } : key64(String(v));
    expect(table.putIfAbsent(key, 9) === undefined).toBe(!seen.has(v));
    seen.add(v);
  }
  expect(table.size).toBe(seen.size);
});
