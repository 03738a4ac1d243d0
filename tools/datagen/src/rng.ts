/**
 * Small, fast, seeded pseudo-random number generator (mulberry32) plus helpers.
 *
 * Every generated record gets its own generator derived from `(seed, salt, index)` with {@link rngFor}, so a record
 * can be re-created in isolation and paired files (chat + metadata) can share the same draws.
 */
export class Rng {
  private state: number;

  /** @param seed any 32-bit integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max] (both inclusive). */
  range(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

/** Mixes any number of integers into one 32-bit seed (murmur3-style finaliser per step). */
export function hashInts(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h ^= p >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + ((p / 4294967296) >>> 0)) | 0;
  }
  return h >>> 0;
}

/** 32-bit FNV-1a hash of a string (used to turn names into salts). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The generator for record `index` of stream `salt` under `seed`. */
export function rngFor(seed: number, salt: string, index: number): Rng {
  return new Rng(hashInts(seed, hashString(salt), index));
}

/**
 * A keyed bijection on [0, size): distinct inputs give distinct outputs, so record `i` can get a unique,
 * random-looking id without keeping a set. 4-round Feistel network on the next even bit width, with cycle walking.
 */
export function permute(index: number, size: number, key: number): number {
  let bits = 2;
  while (2 ** bits < size) bits += 2;
  const half = bits / 2;
  const mask = (1 << half) - 1;
  let x = index;
  do {
    let left = (x >>> half) & mask;
    let right = x & mask;
    for (let round = 0; round < 4; round++) {
      const f = hashInts(key, round, right) & mask;
      const next = left ^ f;
      left = right;
      right = next;
    }
    x = ((left << half) | right) >>> 0;
  } while (x >= size);
  return x;
}
