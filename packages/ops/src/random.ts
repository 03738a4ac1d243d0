import { hash } from 'node:crypto';

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through SHA-256 of the seed): the same seed gives the
 * same sequence on every machine and Node version.
 */
export class SeededRandom {
  #s: Uint32Array;

  constructor(seed: number | string) {
    const digest = hash('sha256', `llavakit-seed:${String(seed)}`, 'buffer') as Buffer;
    this.#s = new Uint32Array([
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    ]);
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32 random bits. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in [0, n) (n ≤ 2^53), without modulo bias. */
  below(n: number): number {
    if (n <= 0) throw new RangeError('below(n) needs n > 0');
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Choose `k` distinct integers of [0, n) uniformly (Floyd's algorithm: k draws, memory for k numbers), sorted.
 *
 * @example
 * ```ts
 * chooseIndices(10, 3, new SeededRandom(1)); // e.g. [1, 4, 8] — the same for seed 1 every time
 * ```
 */
export function chooseIndices(n: number, k: number, random: SeededRandom): Uint32Array {
  if (k > n) throw new RangeError(`cannot choose ${k} of ${n}`);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = random.below(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Uint32Array.from(chosen).sort();
}

/** A seeded hash of a text to a uniform float in [0, 1): stable across runs, machines and file growth. */
export function seededUnit(seed: number | string, text: string): number {
  const digest = hash('sha256', `${String(seed)}\u0000${text}`, 'buffer') as Buffer;
  return (digest.readUInt32BE(0) * 2097152 + (digest.readUInt32BE(4) >>> 11)) / 9007199254740992;
}
