import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { placeInText } from './place.js';

describe('placeInText', () => {
  it('counts lines, restarts the column after a newline and adds UTF-8 bytes to the offset', () => {
    expect(placeInText('{\n  "id": 1}', 4, { offset: 100, line: 7, column: 3 })).toEqual({
      offset: 104,
      line: 8,
      column: 3,
    });
    expect(placeInText('{"é": "😀x"}', 9, { offset: 0, line: 1, column: 1 })).toEqual({
      offset: 12,
      line: 1,
      column: 10,
    });
  });

  it('returns only offset, line and column, even at index 0 of a record place', () => {
    const base = { index: 5, offset: 10, line: 2, column: 4, length: 9 };
    expect(placeInText('{"a": 1}', 0, base)).toEqual({ offset: 10, line: 2, column: 4 });
  });

  it('keeps a place with no known line, and drops an unknown offset', () => {
    const unknown = { offset: 3 };
    expect(placeInText('{\n}', 2, unknown)).toBe(unknown);
    expect(placeInText('{\n}', 2, { line: 1, column: 1 })).toEqual({ line: 2, column: 1 });
    expect(placeInText('{\n}', 2, { offset: -1, line: 1, column: 1 })).toEqual({ line: 2, column: 1 });
  });

  test.prop([fc.string({ unit: 'grapheme' }), fc.nat()])(
    'the offset is the UTF-8 length of the text before',
    (text, n) => {
      const index = text.length === 0 ? 0 : n % (text.length + 1);
      const place = placeInText(text, index, { offset: 0, line: 1, column: 1 });
      expect(place.offset).toBe(Buffer.byteLength(text.slice(0, index)));
      expect(place.line).toBe(1 + (text.slice(0, index).match(/\n/g)?.length ?? 0));
    },
  );
});
