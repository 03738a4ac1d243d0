import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { NameTable, StringIndex } from './name-table.js';

/** The reference: a Set for exact lookups, the first name per lower-cased key for near misses. */
function reference(names: readonly string[], accept: (n: string) => boolean = () => true) {
  const lower = new Map<string, string>();
  for (const n of names) if (!lower.has(n.toLowerCase()) && accept(n)) lower.set(n.toLowerCase(), n);
  return { set: new Set(names), lower };
}

describe('NameTable', () => {
  it('finds exact names and nothing else', () => {
    const table = new NameTable(['a.jpg', 'B.png', 'GCC_train_000001.jpg']);
    expect(table.size).toBe(3);
    expect(table.has('a.jpg')).toBe(true);
    expect(table.has('B.png')).toBe(true);
    expect(table.has('b.png')).toBe(false);
    expect(table.has('GCC_train_000002.jpg')).toBe(false);
    expect(table.has('')).toBe(false);
  });

  it('finds letter-case near misses, the first in order, skipping rejected ones', () => {
    const table = new NameTable(['IMG.JPG', 'img.jpg', 'Img.Jpg', 'Élan.png']);
    expect(table.nearMiss('iMg.jpG')).toBe('IMG.JPG');
    expect(table.nearMiss('iMg.jpG', (n) => n !== 'IMG.JPG')).toBe('img.jpg');
    expect(table.nearMiss('élan.PNG')).toBe('Élan.png');
    expect(table.nearMiss('other.jpg')).toBeUndefined();
  });

  it('handles an empty listing', () => {
    const table = new NameTable([]);
    expect(table.has('x')).toBe(false);
    expect(table.nearMiss('x')).toBeUndefined();
  });

  const name = fc.stringMatching(/^[A-Za-zÀ-ÿ0-9_.]{0,6}$/);
  test.prop([fc.uniqueArray(name, { maxLength: 80 }), fc.array(name, { maxLength: 40 })])(
    'agrees with a Set and a lower-cased Map',
    (names, probes) => {
      const table = new NameTable(names);
      const accept = (n: string) => n.length % 3 !== 0;
      const ref = reference(names, accept);
      for (const probe of [...probes, ...names, ...names.map((n) => n.toUpperCase())]) {
        expect(table.has(probe)).toBe(ref.set.has(probe));
        expect(table.nearMiss(probe, accept)).toBe(ref.lower.get(probe.toLowerCase()));
      }
    },
  );
});

describe('StringIndex', () => {
  it('numbers distinct strings in the order first added', () => {
    const index = new StringIndex();
    expect(index.add('a')).toBe(~0);
    expect(index.add('b')).toBe(~1);
    expect(index.add('a')).toBe(0);
    expect(index.add('')).toBe(~2);
    expect(index.add('b')).toBe(1);
    expect(index.size).toBe(3);
  });

  it('keeps its numbers while it grows', () => {
    const index = new StringIndex();
    for (let i = 0; i < 5000; i++) expect(index.add(`GCC_train_${i}.jpg`)).toBe(~i);
    for (let i = 4999; i >= 0; i--) expect(index.add(`GCC_train_${i}.jpg`)).toBe(i);
    expect(index.size).toBe(5000);
  });

  test.prop([fc.array(fc.string({ maxLength: 4 }), { maxLength: 300 })])('agrees with a Map', (keys) => {
    const index = new StringIndex();
    const map = new Map<string, number>();
    for (const key of keys) {
      const known = map.get(key);
      if (known === undefined) map.set(key, map.size);
      expect(index.add(key)).toBe(known ?? ~map.get(key)!);
    }
    expect(index.size).toBe(map.size);
  });
});
