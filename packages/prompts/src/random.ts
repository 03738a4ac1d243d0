/** FNV-1a 32-bit hash of a string (UTF-16 code units), used to seed per-record draws. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A deterministic number in [0, 1) drawn from a seed and a key (e.g. a custom_id): the same pair always gives
 * the same number, independent of the order in which records are processed.
 */
export function seededUnit(seed: number | string, key: string, salt = ''): number {
  let t = (fnv1a(`${seed}\u0000${salt}\u0000${key}`) + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
