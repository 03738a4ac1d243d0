import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProgress, formatCount } from './progress.js';

describe('formatCount', () => {
  it('writes integers as toLocaleString("en") does', () => {
    for (const n of [0, 7, 999, 1000, 12_345, 665_298, 1_000_000, -1, -1234, Number.MAX_SAFE_INTEGER]) {
      expect(formatCount(n)).toBe(n.toLocaleString('en'));
    }
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => formatCount(n) === n.toLocaleString('en')));
  });

  it('leaves other numbers to toLocaleString', () => {
    expect(formatCount(1.5)).toBe((1.5).toLocaleString('en'));
    expect(formatCount(2 ** 60)).toBe((2 ** 60).toLocaleString('en'));
  });
});

describe('createProgress', () => {
  it('makes a lazy text only when it draws', () => {
    const stream = Object.assign(new PassThrough(), { columns: 80, isTTY: true }) as unknown as NodeJS.WriteStream;
    let made = 0;
    const progress = createProgress({ label: 'convert', enabled: true, stream });
    const text = () => `${formatCount(++made)} records`;
    progress.update(10, 100, text); // drawn: the first update
    progress.update(20, 100, text); // within 100 ms: not drawn, the text is not made
    progress.update(30, 100, text);
    expect(made).toBe(1);
    const drawn = String((stream as unknown as PassThrough).read());
    expect(drawn).toContain('1 records');
    expect(drawn).toContain('10.0%');
  });

  it('makes nothing when disabled', () => {
    let made = 0;
    const progress = createProgress({ label: 'convert', enabled: false });
    progress.update(1, 2, () => String(++made));
    expect(made).toBe(0);
  });
});
