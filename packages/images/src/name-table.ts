/**
 * A compact, read-only table of the names in one folder listing: exact lookups and letter-case near misses from one
 * open-addressing table of 32-bit hashes (typed arrays) over the names array. Built for listings of hundreds of
 * thousands of names, where a `Set` lookup costs several cache misses and a second, lower-cased index doubles the
 * memory. Internal; used by `FolderIndex`.
 */
export class NameTable {
  /** `[hash, index + 1]` per slot; index 0 marks an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  /** The names, in the order given (listing order). */
  constructor(readonly names: readonly string[]) {
    let capacity = 16;
    while (capacity < names.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * 2);
    for (let i = 0; i < names.length; i++) {
      const h = foldedHash(names[i]!);
      let at = h & this.mask;
      while (this.slots[at * 2 + 1] !== 0) at = (at + 1) & this.mask;
      this.slots[at * 2] = h;
      this.slots[at * 2 + 1] = i + 1;
    }
  }

  /** How many names the table holds. */
  get size(): number {
    return this.names.length;
  }

  /** Is `name` one of the names (exact match)? */
  has(name: string): boolean {
    const h = foldedHash(name);
    const { slots, mask, names } = this;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const index = slots[at * 2 + 1]!;
      if (index === 0) return false;
      if (slots[at * 2] === h && names[index - 1] === name) return true;
    }
  }

  /**
   * The first name (in the order given) equal to `name` ignoring letter case (`toLowerCase`) for which `accept`
   * holds, or `undefined`.
   */
  nearMiss(name: string, accept: (candidate: string) => boolean = () => true): string | undefined {
    const lower = name.toLowerCase();
    const h = hashOf(lower);
    const { slots, mask, names } = this;
    let best = -1;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const index = slots[at * 2 + 1]!;
      if (index === 0) break;
      if (slots[at * 2] !== h || (best >= 0 && index - 1 > best)) continue;
      const candidate = names[index - 1]!;
      if (candidate.toLowerCase() === lower && accept(candidate)) best = index - 1;
    }
    return best >= 0 ? names[best] : undefined;
  }
}

/**
 * Numbers distinct strings 0, 1, 2, … in the order they are first added: one probe per {@link StringIndex.add} (no
 * separate get and set), the hashes kept inline in a typed array so a miss rarely touches another string. Internal;
 * used by the image checker to find repeated refs.
 */
export class StringIndex {
  private slots = new Int32Array(2 * 1024);
  private mask = 1023;
  private readonly keys: string[] = [];

  /** How many distinct strings were added. */
  get size(): number {
    return this.keys.length;
  }

  /** The string numbered `n`. */
  keyAt(n: number): string {
    return this.keys[n]!;
  }

  /** The number of `key` when it was added before; else adds it and returns `~n` (negative), `n` its new number. */
  add(key: string): number {
    const h = hashOf(key);
    const { slots, mask, keys } = this;
    let at = h & mask;
    for (;;) {
      const index = slots[at * 2 + 1]!;
      if (index === 0) break;
      if (slots[at * 2] === h && keys[index - 1] === key) return index - 1;
      at = (at + 1) & mask;
    }
    const n = keys.length;
    keys.push(key);
    slots[at * 2] = h;
    slots[at * 2 + 1] = n + 1;
    if (keys.length * 2 > mask + 1) this.grow();
    return ~n;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const mask = capacity - 1;
    const slots = new Int32Array(capacity * 2);
    for (let i = 0; i < old.length; i += 2) {
      const index = old[i + 1]!;
      if (index === 0) continue;
      const h = old[i]!;
      let at = h & mask;
      while (slots[at * 2 + 1] !== 0) at = (at + 1) & mask;
      slots[at * 2] = h;
      slots[at * 2 + 1] = index;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** FNV-1a over the UTF-16 code units. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The hash of `s.toLowerCase()`, without allocating it for ASCII names: names equal ignoring case share a hash, so
 * {@link NameTable.nearMiss} finds them on the same probe path.
 */
function foldedHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 128) return hashOf(s.toLowerCase());
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h | 0;
}
