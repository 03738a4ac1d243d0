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
 * `assistant` → `gpt`), `<image>` tokens removed, runs of whitespace collapsed to one space, ends trimmed.
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
    const from = String(turn.from ?? '').toLowerCase();
    const value = typeof turn.value === 'string' ? turn.value : JSON.stringify(turn.value ?? null);
    if (i > 0) out += '\u0001';
    out += `${ROLE_ALIASES[from] ?? from}\u0000${value.replaceAll('<image>', ' ').replace(/\s+/g, ' ').trim()}`;
  }
  return out;
}

/**
 * An open-addressing hash table of 64-bit keys with a 32-bit value each (12 bytes per slot, at most half full, so
 * about 24 bytes per distinct key): duplicate detection over millions of records in bounded memory. Keys are
 * hashes already; the all-zero key is stored beside the table.
 */
export class KeyTable {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #value: Uint32Array;
  #size = 0;
  #mask: number;
  #zero: number | undefined;

  constructor(capacity = 1 << 16) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#value = new Uint32Array(slots);
    this.#mask = slots - 1;
  }

  /** Distinct keys held. */
  get size(): number {
    return this.#size + (this.#zero === undefined ? 0 : 1);
  }

  /** Bytes used by the table. */
  get bytes(): number {
    return this.#hi.byteLength * 3;
  }

  /** The value stored for a key, or `undefined`. */
  get(key: Key64): number | undefined {
    if (key.hi === 0 && key.lo === 0) return this.#zero;
    let slot = (key.lo ^ Math.imul(key.hi, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const hi = this.#hi[slot]!;
      const lo = this.#lo[slot]!;
      if (hi === 0 && lo === 0) return undefined;
      if (hi === key.hi && lo === key.lo) return this.#value[slot];
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
      this.#zero = value >>> 0;
      return undefined;
    }
    let slot = (key.lo ^ Math.imul(key.hi, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const hi = this.#hi[slot]!;
      const lo = this.#lo[slot]!;
      if (hi === 0 && lo === 0) break;
      if (hi === key.hi && lo === key.lo) return this.#value[slot];
      slot = (slot + 1) & this.#mask;
    }
    this.#hi[slot] = key.hi;
    this.#lo[slot] = key.lo;
    this.#value[slot] = value >>> 0;
    this.#size++;
    if (this.#size * 2 > this.#mask) this.#grow();
    return undefined;
  }

  #grow(): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const value = this.#value;
    const slots = hi.length * 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#value = new Uint32Array(slots);
    this.#mask = slots - 1;
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i]!;
      const l = lo[i]!;
      if (h === 0 && l === 0) continue;
      let slot = (l ^ Math.imul(h, 0x9e3779b1)) & this.#mask;
      while (this.#hi[slot] !== 0 || this.#lo[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#hi[slot] = h;
      this.#lo[slot] = l;
      this.#value[slot] = value[i]!;
    }
  }
}
