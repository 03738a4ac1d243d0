import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { pyFloatRepr, pyLstripChars, pyRound, pyStrip } from './py.js';

describe('pyRound', () => {
  it('rounds exact binary ties to even, like Python round()', () => {
    expect(pyRound(0.0625, 3)).toBe(0.062);
    expect(pyRound(0.1875, 3)).toBe(0.188);
    expect(pyRound(0.3125, 3)).toBe(0.312);
    expect(pyRound(-0.0625, 3)).toBe(-0.062);
    expect(pyRound(40 / 640, 3)).toBe(0.062);
  });
  it('rounds non-ties on the exact binary value', () => {
    expect(pyRound(2.675, 2)).toBe(2.67); // 2.675 is 2.67499999… in binary
    expect(pyRound(0.0005, 3)).toBe(0.001);
    expect(pyRound(600.7 / 640 + 12.3 / 640, 3)).toBe(0.958);
    expect(pyRound(1, 3)).toBe(1);
  });
  test.prop([fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 1, max: 4000 })])(
    'is within half a unit of the last digit',
    (a, b) => {
      const x = a / b;
      expect(Math.abs(pyRound(x, 3) - x)).toBeLessThanOrEqual(0.0005 + 1e-12);
    },
  );
});

describe('pyFloatRepr', () => {
  it('prints floats as Python repr does', () => {
    expect(pyFloatRepr(0)).toBe('0.0');
    expect(pyFloatRepr(1)).toBe('1.0');
    expect(pyFloatRepr(0.3)).toBe('0.3');
    expect(pyFloatRepr(0.574)).toBe('0.574');
    expect(pyFloatRepr(-0)).toBe('-0.0');
    expect(pyFloatRepr(1e-5)).toBe('1e-05');
    expect(pyFloatRepr(12.5)).toBe('12.5');
  });
});

describe('pyStrip', () => {
  it('uses the Python whitespace set', () => {
    expect(pyStrip('\x1c a \x85')).toBe('a');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa');
    expect(pyStrip('\n\t x y \u3000')).toBe('x y');
  });
  it('lstrips a character set', () => {
    expect(pyLstripChars('<s>[INST] x', '<s>')).toBe('[INST] x');
    expect(pyLstripChars('ss<x', '<s>')).toBe('x');
    expect(pyLstripChars('abc', '')).toBe('abc');
  });
});
