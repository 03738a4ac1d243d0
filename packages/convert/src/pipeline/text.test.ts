import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findLoneSurrogate, hasEscapedLoneSurrogate } from './text.js';

describe('lone surrogates', () => {
  it('finds the first lone surrogate with its pointer, and none in well-formed text', () => {
    expect(findLoneSurrogate({ a: ['ok', 'cat 🐱'], b: 'x\ud800' })).toEqual({ pointer: '/b', codeUnit: '\\ud800' });
    expect(findLoneSurrogate({ conversations: [{ value: 'ok' }, { value: 'a\udc00b' }] })).toMatchObject({
      pointer: '/conversations/1/value',
    });
    expect(findLoneSurrogate({ 'k/\ud83d': 1 })).toEqual({ pointer: '/k~1\ud83d', codeUnit: '\\ud83d' });
    expect(findLoneSurrogate({ ok: 'cat 🐱', n: 1, list: [null, true] })).toBeUndefined();
  });

  it('the JSON text test agrees with the walk for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ maxLength: 5 }), (text, other) => {
        const value = { other: `\\${other}\\\\ud800`, text };
        expect(hasEscapedLoneSurrogate(JSON.stringify(value))).toBe(findLoneSurrogate(value) !== undefined);
      }),
    );
  });
});
