import fc from 'fast-check';
import { snappyUncompress as reference } from 'hyparquet';
import { snappyCompress as compressInJs } from 'hyparquet-writer/src/snappy.js';
import { describe, expect, it } from 'vitest';
import { snappyCompress, snappyStore, snappyUncompress, storedBytes } from './snappy.js';

/** Bytes that do not compress (xorshift), or that do (a short repeating text). */
function bytes(size: number, compressible: boolean, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = compressible ? 97 + (i % 23) + ((x & 0x3) === 0 ? 1 : 0) : x & 0xff;
  }
  return out;
}

/** Byte equality (vitest's deep equality is far too slow for megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** Uncompress with hyparquet's own JavaScript decoder (an independent reader of what we write). */
function referenceUncompress(compressed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  reference(compressed, out);
  return out;
}

describe('snappy', () => {
  it('round-trips pages of every kind and size through hyparquet’s decoder and ours', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.boolean(), fc.integer(), (size, compressible, seed) => {
        const input = bytes(size, compressible, seed);
        const compressed = snappyCompress(input);
        expect(same(referenceUncompress(compressed, size), input)).toBe(true);
        expect(same(snappyUncompress(compressed, size), input)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('stores incompressible pages as literals, compresses the others, and handles pages past the WebAssembly limit', () => {
    const noise = bytes(300_000, false);
    const stored = snappyCompress(noise);
    expect(stored.length).toBeLessThan(noise.length + 32);
    expect(same(stored, snappyStore(noise))).toBe(true);
    const text = bytes(300_000, true);
    expect(snappyCompress(text).length).toBeLessThan(text.length / 2);
    // 9 MiB: compressed and uncompressed in JavaScript (the WebAssembly memory is not grown for it)
    const big = bytes(9 << 20, true);
    const compressed = snappyCompress(big);
    expect(compressed.length).toBeLessThan(big.length / 2);
    expect(same(snappyUncompress(compressed, big.length), big)).toBe(true);
    expect(same(referenceUncompress(snappyStore(big), big.length), big)).toBe(true);
  });

  it('reads literal-only streams without WebAssembly (one literal as a view of the page), and only those', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 150_000 }), fc.boolean(), fc.integer(), (size, compressible, seed) => {
        const input = bytes(size, compressible, seed);
        for (const compressed of [snappyStore(input), compressInJs(input), snappyCompress(input)]) {
          const stored = storedBytes(compressed, size);
          // whenever it answers, it answers what a Snappy decoder does
          if (stored) expect(same(stored, referenceUncompress(compressed, size))).toBe(true);
        }
        expect(storedBytes(snappyStore(input), size)).toBeDefined();
        if (compressible && size > 100) expect(storedBytes(snappyCompress(input), size)).toBeUndefined();
        // a stream that says another length, or is cut short, is left to the decoder (which refuses it)
        expect(storedBytes(snappyStore(input), size + 1)).toBeUndefined();
        if (size > 0) expect(storedBytes(snappyStore(input).subarray(0, -1), size)).toBeUndefined();
      }),
      { numRuns: 40 },
    );
    const one = snappyStore(bytes(1000, false));
    expect(storedBytes(one, 1000)!.buffer).toBe(one.buffer);
  });
});
