import { hash } from 'node:crypto';
import type { LlavaRecord } from '@llavakit/schema';

/** A 64-bit key as two unsigned 32-bit halves. */
export interface Key64 {
  readonly hi: number;
  readonly lo: number;
}

/** The first 64 bits of SHA-1 of a text (or bytes), as a {@link Key64}. */
export function key64(data: string | Uint8Array): Key64 {
  const digest = hash('sha1', data, 'buffer') as Buffer;
  return { hi: digest.readUInt32BE(0), lo: digest.readUInt32BE(4) };
}

/** The key as 16 hex digits. */
export function keyHex(key: Key64): string {
  return key.hi.toString(16).padStart(8, '0') + key.lo.toString(16).padStart(8, '0');
}

const ROLE_ALIASES: Readonly<Record<string, string>> = { user: 'human', assistant: 'gpt' };

/**
 * The normalised text of a conversation, the basis of duplicate detection: roles lower-cased (`user` → `human`,
 * `assistant` → `gpt`), `<image>` tokens removed, runs of whitespace collapsed to one space, ends trimmed; turns
 * joined by U+0001, role and text by U+0000. {@link conversationKey} hashes exactly this text without building it.
 *
 * @example
 * ```ts
 * normalizedConversation({ conversations: [{ from: 'human', value: '<image>\nWhat  is it?' }, { from: 'gpt', value: 'A cat.' }] });
 * // 'human\u0000What is it?\u0001gpt\u0000A cat.'
 * ```
 */
export function normalizedConversation(record: Pick<LlavaRecord, 'conversations'>): string {
  let out = '';
  for (let i = 0; i < record.conversations.length; i++) {
    const turn = record.conversations[i]!;
    if (i > 0) out += '\u0001';
    out += `${roleOf(turn.from)}\u0000${turnText(turn.value).replaceAll('<image>', ' ').replace(/\s+/g, ' ').trim()}`;
  }
  return out;
}

function roleOf(from: unknown): string {
  const role = String(from ?? '').toLowerCase();
  return ROLE_ALIASES[role] ?? role;
}

function turnText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/** True for the characters JavaScript's `\s` matches. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 5760 ||
    (c >= 8192 && c <= 8202) ||
    c === 8232 ||
    c === 8233 ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

/**
 * A streaming 64-bit hash of a character sequence (two 32-bit multiply-xorshift lanes with a final avalanche):
 * not cryptographic, but with n records the chance of any collision is about n² / 2⁶⁵ (10⁻⁸ for a million).
 */
class Hasher64 {
  h1 = 0x9e3779b9;
  h2 = 0x85ebca6b;

  char(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, 0x85ebca77);
    this.h2 = Math.imul(this.h2 ^ c, 0xc2b2ae3d);
    this.h1 ^= this.h1 >>> 15;
    this.h2 ^= this.h2 >>> 13;
  }

  text(text: string): void {
    for (let i = 0; i < text.length; i++) this.char(text.charCodeAt(i));
  }

  done(): Key64 {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
    h1 ^= h1 >>> 16;
    h2 ^= h2 >>> 16;
    return { hi: h1 >>> 0, lo: h2 >>> 0 };
  }
}

/** The fast 64-bit hash of a text (the one {@link conversationKey} uses). */
export function textKey(text: string): Key64 {
  const h = new Hasher64();
  h.text(text);
  return h.done();
}

/**
 * The 64-bit key of a record's normalised conversation: `textKey(normalizedConversation(record))`, computed in one
 * pass over the characters without building the normalised text (no regular expression, no copy).
 */
export function conversationKey(record: Pick<LlavaRecord, 'conversations'>): Key64 {
  // The lanes of Hasher64, kept in locals: this loop runs over every character of the dataset.
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  const turns = record.conversations;
  for (let t = 0; t < turns.length; t++) {
    const turn = turns[t]!;
    const role = roleOf(turn.from);
    const value = turnText(turn.value);
    const head = t > 0 ? `\u0001${role}\u0000` : `${role}\u0000`;
    for (let i = 0; i < head.length; i++) {
      const c = head.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x85ebca77);
      h2 = Math.imul(h2 ^ c, 0xc2b2ae3d);
      h1 ^= h1 >>> 15;
      h2 ^= h2 >>> 13;
    }
    let pendingSpace = false;
    let started = false;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 60 && value.startsWith('<image>', i)) {
        pendingSpace = true;
        i += 6;
        continue;
      }
      if (c <= 32 ? c === 32 || (c >= 9 && c <= 13) : c >= 160 && isSpace(c)) {
        pendingSpace = true;
        continue;
      }
      if (pendingSpace && started) {
        h1 = Math.imul(h1 ^ 32, 0x85ebca77);
        h2 = Math.imul(h2 ^ 32, 0xc2b2ae3d);
        h1 ^= h1 >>> 15;
        h2 ^= h2 >>> 13;
      }
      pendingSpace = false;
      started = true;
      h1 = Math.imul(h1 ^ c, 0x85ebca77);
      h2 = Math.imul(h2 ^ c, 0xc2b2ae3d);
      h1 ^= h1 >>> 15;
      h2 ^= h2 >>> 13;
    }
  }
  const h = new Hasher64();
  h.h1 = h1;
  h.h2 = h2;
  return h.done();
}

/**
 * An open-addressing hash table (linear probing, at most 3/4 full) of 64-bit keys with an optional 32-bit value
 * each: 8 bytes per slot as a set, 12 with values, so 11–21 bytes per distinct key: duplicate detection over
 * millions of records in bounded memory. Keys are hashes already; the all-zero key is stored beside the table.
 */
export class KeyTable {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #value: Uint32Array;
  #size = 0;
  #mask: number;
  #zero: number | undefined;

  readonly #withValues: boolean;

  /**
   * @param capacity - expected distinct keys (the table grows beyond it).
   * @param withValues - store a 32-bit value per key (false: a set; `get` and `putIfAbsent` answer 0 for present keys).
   */
  constructor(capacity = 1 << 16, withValues = true) {
    let slots = 16;
    while (slots * 3 < capacity * 4) slots *= 2;
    this.#withValues = withValues;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#value = new Uint32Array(withValues ? slots : 0);
    this.#mask = slots - 1;
  }

  /** Distinct keys held. */
  get size(): number {
    return this.#size + (this.#zero === undefined ? 0 : 1);
  }

  /** Bytes used by the table. */
  get bytes(): number {
    return this.#hi.byteLength * 2 + this.#value.byteLength;
  }

  /** The value stored for a key, or `undefined`. */
  get(key: Key64): number | undefined {
    if (key.hi === 0 && key.lo === 0) return this.#zero;
    let slot = (key.lo ^ Math.imul(key.hi, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const hi = this.#hi[slot]!;
      const lo = this.#lo[slot]!;
      if (hi === 0 && lo === 0) return undefined;
      if (hi === key.hi && lo === key.lo) return this.#withValues ? this.#value[slot] : 0;
      slot = (slot + 1) & this.#mask;
    }
  }

  /**
   * Insert a key with a value unless present. Returns the value already stored (the key was present), or
   * `undefined` (it was inserted).
   */
  putIfAbsent(key: Key64, value: number): number | undefined {
    if (key.hi === 0 && key.lo === 0) {
      if (this.#zero !== undefined) return this.#zero;
      this.#zero = this.#withValues ? value >>> 0 : 0;
      return undefined;
    }
    let slot = (key.lo ^ Math.imul(key.hi, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const hi = this.#hi[slot]!;
      const lo = this.#lo[slot]!;
      if (hi === 0 && lo === 0) break;
      if (hi === key.hi && lo === key.lo) return this.#withValues ? this.#value[slot] : 0;
      slot = (slot + 1) & this.#mask;
    }
    this.#hi[slot] = key.hi;
    this.#lo[slot] = key.lo;
    if (this.#withValues) this.#value[slot] = value >>> 0;
    this.#size++;
    if (this.#size * 4 > this.#mask * 3) this.#grow();
    return undefined;
  }

  #grow(): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const value = this.#value;
    const slots = hi.length * 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#value = new Uint32Array(this.#withValues ? slots : 0);
    this.#mask = slots - 1;
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i]!;
      const l = lo[i]!;
      if (h === 0 && l === 0) continue;
      let slot = (l ^ Math.imul(h, 0x9e3779b1)) & this.#mask;
      while (this.#hi[slot] !== 0 || this.#lo[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#hi[slot] = h;
      this.#lo[slot] = l;
      if (this.#withValues) this.#value[slot] = value[i]!;
    }
  }
}
