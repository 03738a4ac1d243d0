/**
 * Plain LLaVA records, read straight from their bytes (no `JSON.parse`, no objects, no `JSON.stringify`).
 *
 * Most records of the LLaVA files have one shape: `{"id", "image"?, "model"?, "conversations": [{"from", "value"}…]}`
 * with human/gpt turns that alternate, one `<image>` at the start or end of the first human turn (none without an
 * image) and no leading or trailing whitespace. For such a record every rule of the validator finds nothing, and the
 * output of the common targets is a fixed arrangement of the input's own string tokens. {@link PlainReader.read}
 * recognises exactly those records (anything else: `false`, and the record takes the full path of parse, decode,
 * check and encode), and the encoders of `plain-encoders.ts` copy their tokens.
 *
 * "Exactly" is the contract: a record read as plain must be one the full path writes, with no diagnostic, as the
 * encoder writes it. So the reader refuses whatever it is not sure of — a string whose bytes `JSON.stringify` would
 * write differently (`\u` escapes, `\/`), a raw control character (not JSON), a number that is not a short
 * integer, keys out of the usual order or repeated, `<video>`, whitespace at either end of a value, any other key
 * or role. `plain.test.ts` holds the two paths equal over generated records.
 */

import { isUtf8 } from 'node:buffer';
import type { ElementReader } from '@llavakit/reader';

// Byte classes inside a string: 0 plain, 1 look (control, `"`, `\`, `<`).
const LOOK = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) LOOK[c] = 1;
LOOK[0x22] = 1;
LOOK[0x5c] = 1;
LOOK[0x3c] = 1;

// JSON escapes `JSON.stringify` writes as they are (and the character each stands for).
const ESCAPED = new Int16Array(256).fill(-1);
ESCAPED[0x22] = 0x22; // \"
ESCAPED[0x5c] = 0x5c; // \\
ESCAPED[0x62] = 0x08; // \b
ESCAPED[0x66] = 0x0c; // \f
ESCAPED[0x6e] = 0x0a; // \n
ESCAPED[0x72] = 0x0d; // \r
ESCAPED[0x74] = 0x09; // \t

const WS = new Uint8Array(256);
WS[0x20] = WS[0x0a] = WS[0x0d] = WS[0x09] = 1;

/** The keys a plain record may have, in this order (`image` and `model` optional, one of them at most). */
const Key = { Id: 1, Image: 2, Model: 3, Conversations: 4 } as const;

/** `isSpace` of the validator (`value/whitespace`): the characters it takes for leading or trailing whitespace. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xa0 || c === 0x3000;
}

/**
 * Reads plain records (see the module comment). One reader is reused for every record: after a `true` from
 * {@link read}, its fields describe the record — byte offsets into the buffer given, string tokens with their quotes.
 */
export class PlainReader implements ElementReader {
  /** The id token: a string with its quotes (`idKind` 1) or the digits of an integer (`idKind` 2). */
  idStart = 0;
  idEnd = 0;
  idKind: 1 | 2 = 1;
  /** The `image` string token, or -1. */
  imageStart = -1;
  imageEnd = -1;
  /** The `model` string token (LLaVA-1.5's ShareGPT part), or -1; its bytes hold no `\` and no `"`. */
  modelStart = -1;
  modelEnd = -1;
  /** Turns: `value` string tokens (with quotes), and 1 where the turn is gpt's (they alternate, human first). */
  turns = 0;
  valueStart = new Int32Array(64);
  valueEnd = new Int32Array(64);
  /** Set while reading: the `<image>` tokens found, and where the first is. */
  #tokens = 0;
  #tokenAt = -1;
  #special = false;
  #bytes: Uint8Array | undefined;
  #base = 0;
  #words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

  /**
   * Read `bytes[start…end]` (one element) as a plain record. `false`: it is not one (its bytes are not UTF-8, say), or
   * not certainly; nothing else is known of it then.
   */
  read(b: Uint8Array, start: number, end: number): boolean {
    const after = this.#record(b, start, end);
    return after >= 0 && skip(b, after, end) === end && isUtf8(b.subarray(start, end));
  }

  /** The chunk {@link readElement} last read, and the end of its bytes known to be UTF-8 (-1: check each record). */
  #checked: Uint8Array | undefined;
  #validEnd = -1;

  /** The raw newlines between the tokens of the record {@link readElement} last took, and where the last one is. */
  newlines = 0;
  lastNewline = -1;

  /**
   * Read the plain record that starts at `start` and ends before `limit` (a scanner's {@link ElementReader}): the
   * index after its `}`, or -1 when it is not one (or not whole before `limit`). After a take, the fields describe it
   * as after {@link read}. (The UTF-8 check is made once per `b`: the bytes of a view must not change while it is read.)
   */
  readElement(b: Uint8Array, start: number, limit: number): number {
    const after = this.#record(b, start, limit);
    if (after < 0) return -1;
    // UTF-8 is checked once per chunk (a record starts and ends with an ASCII byte: inside valid UTF-8, it is valid)
    if (b !== this.#checked) {
      this.#checked = b;
      const end = charBoundary(b, limit);
      this.#validEnd = isUtf8(b.subarray(0, end)) ? end : -1;
    }
    if (after > this.#validEnd && !isUtf8(b.subarray(start, after))) return -1;
    this.newlines = newlines;
    this.lastNewline = lastNewline;
    return after;
  }

  /** The record at `start` (after whitespace): the index after its `}`, or -1. UTF-8 is the caller's check. */
  #record(b: Uint8Array, start: number, end: number): number {
    newlines = 0;
    lastNewline = -1;
    this.imageStart = this.imageEnd = this.modelStart = this.modelEnd = -1;
    this.turns = 0;
    this.#tokens = 0;
    this.#tokenAt = -1;
    this.#view(b);
    let i = skip(b, start, end);
    if (b[i] !== 0x7b) return -1; // {
    let last = 0;
    for (;;) {
      i = skip(b, i + 1, end);
      if (b[i] !== 0x22) return -1;
      const key = keyOf(b, i, end);
      if (key <= last) return -1; // unknown, repeated or out of order
      if ((key === Key.Model && last === Key.Image) || (key !== Key.Id && last === 0)) return -1;
      last = key;
      i = skip(b, i + keyLength(key), end);
      if (b[i] !== 0x3a) return -1; // :
      i = skip(b, i + 1, end);
      if (key === Key.Id) {
        if (b[i] === 0x22) {
          const close = this.#string(b, i, end, false);
          if (close < 0) return -1;
          this.idKind = 1;
          this.idStart = i;
          this.idEnd = i = close;
        } else {
          const close = integer(b, i, end);
          if (close < 0) return -1;
          this.idKind = 2;
          this.idStart = i;
          this.idEnd = i = close;
        }
      } else if (key === Key.Image || key === Key.Model) {
        if (b[i] !== 0x22) return -1;
        const close = this.#string(b, i, end, false);
        if (close < 0) return -1;
        if (key === Key.Image) {
          if (!hasVisible(b, i + 1, close - 1)) return -1; // `value/empty`
          this.imageStart = i;
          this.imageEnd = close;
        } else {
          if (this.#special) return -1; // it is written again inside llava_meta's JSON string
          this.modelStart = i;
          this.modelEnd = close;
        }
        i = close;
      } else {
        i = this.#conversations(b, i, end);
        if (i < 0) return -1;
      }
      i = skip(b, i, end);
      if (b[i] === 0x2c) continue; // ,
      if (b[i] !== 0x7d) return -1; // }
      break;
    }
    if (last !== Key.Conversations) return -1;
    // `<image>`: one, in the first turn (human), where LLaVA puts it, for a record with an image; none without.
    if (this.imageStart < 0 ? this.#tokens !== 0 : this.#tokens !== 1 || !this.#placed(b)) return -1;
    return i + 1;
  }

  /** `[ {"from": "human"|"gpt", "value": "…"}, … ]`, alternating from human to gpt; the index after `]`, or -1. */
  #conversations(b: Uint8Array, i: number, end: number): number {
    if (b[i] !== 0x5b) return -1; // [
    let n = 0;
    for (;;) {
      i = skip(b, i + 1, end);
      if (b[i] !== 0x7b) return -1;
      i = skip(b, i + 1, end);
      // "from": the role this position needs
      if (!matches(b, i, end, FROM)) return -1;
      i = skip(b, i + FROM.length, end);
      if (b[i] !== 0x3a) return -1;
      i = skip(b, i + 1, end);
      const role = n % 2 === 0 ? HUMAN : GPT;
      if (!matches(b, i, end, role)) return -1;
      i = skip(b, i + role.length, end);
      if (b[i] !== 0x2c) return -1;
      i = skip(b, i + 1, end);
      if (!matches(b, i, end, VALUE)) return -1;
      i = skip(b, i + VALUE.length, end);
      if (b[i] !== 0x3a) return -1;
      i = skip(b, i + 1, end);
      if (b[i] !== 0x22) return -1;
      const tokensBefore = this.#tokens;
      const close = this.#string(b, i, end, true);
      if (close < 0 || !trimmed(b, i + 1, close - 1)) return -1;
      // `<image>` only in the first turn (a human one)
      if (this.#tokens !== tokensBefore && n !== 0) return -1;
      if (n === this.valueStart.length) this.#grow();
      this.valueStart[n] = i;
      this.valueEnd[n] = close;
      n++;
      i = skip(b, close, end);
      if (b[i] !== 0x7d) return -1;
      i = skip(b, i + 1, end);
      if (b[i] === 0x2c) continue;
      if (b[i] !== 0x5d) return -1; // ]
      break;
    }
    if (n % 2 !== 0) return -1; // ends with a human turn
    this.turns = n;
    return i + 1;
  }

  /**
   * A string token at `i` (its opening quote): the index after its closing quote, or -1 when `JSON.stringify` would
   * not write it byte for byte as it is (or it is no JSON string). Counts `<image>` tokens in values; `#special` is
   * set when it holds an escape.
   */
  #string(b: Uint8Array, i: number, end: number, value: boolean): number {
    this.#special = false;
    const words = this.#words;
    const base = this.#base;
    for (let j = i + 1; j < end; j++) {
      // four bytes at a time while none needs a look (SWAR: a byte < 0x20, or one equal to `"`, `\` or `<`)
      if (((base + j) & 3) === 0) {
        const last = end - 4;
        while (j <= last) {
          const w = words[(base + j) >>> 2]!;
          const q = w ^ 0x22222222;
          const s = w ^ 0x5c5c5c5c;
          const l = w ^ 0x3c3c3c3c;
          const look =
            ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s) | ((l - 0x01010101) & ~l);
          if ((look & 0x80808080) !== 0) break;
          j += 4;
        }
        if (j >= end) break;
      }
      const c = b[j]!;
      if (LOOK[c] === 0) continue;
      if (c === 0x22) return j + 1;
      if (c === 0x5c) {
        if (ESCAPED[b[j + 1]!]! < 0) return -1; // \u…, \/ or no escape at all
        this.#special = true;
        j++;
        continue;
      }
      if (c === 0x3c) {
        if (b[j + 1] === 0x69 && matchesAt(b, j, IMAGE_TOKEN)) {
          if (!value) continue;
          if (this.#tokens++ === 0) this.#tokenAt = j;
          j += IMAGE_TOKEN.length - 1;
        } else if (b[j + 1] === 0x76 && matchesAt(b, j, VIDEO_TOKEN)) return -1;
        continue;
      }
      return -1; // a raw control character
    }
    return -1;
  }

  /** The record's one `<image>`: the whole first value, or at its start before `\n`, or at its end after `\n`. */
  #placed(b: Uint8Array): boolean {
    const at = this.#tokenAt;
    const open = this.valueStart[0]! + 1;
    const close = this.valueEnd[0]! - 1;
    const after = at + IMAGE_TOKEN.length;
    if (at === open) return after === close || (b[after] === 0x5c && b[after + 1] === 0x6e);
    return after === close && b[at - 1] === 0x6e && escapeStartsAt(b, open, at - 2);
  }

  /** The buffer as 32-bit words (the view made once per buffer). */
  #view(b: Uint8Array): void {
    if (this.#bytes === b) return;
    this.#bytes = b;
    this.#base = b.byteOffset;
    this.#words = new Uint32Array(b.buffer, 0, b.buffer.byteLength >>> 2);
  }

  #grow(): void {
    const start = new Int32Array(this.valueStart.length * 2);
    const end = new Int32Array(this.valueEnd.length * 2);
    start.set(this.valueStart);
    end.set(this.valueEnd);
    this.valueStart = start;
    this.valueEnd = end;
  }
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const FROM = ascii('"from"');
const VALUE = ascii('"value"');
const HUMAN = ascii('"human"');
const GPT = ascii('"gpt"');
const IMAGE_TOKEN = ascii('<image>');
const VIDEO_TOKEN = ascii('<video>');
const KEYS: Record<number, Uint8Array> = {
  [Key.Id]: ascii('"id"'),
  [Key.Image]: ascii('"image"'),
  [Key.Model]: ascii('"model"'),
  [Key.Conversations]: ascii('"conversations"'),
};

function keyLength(key: number): number {
  return KEYS[key]!.length;
}

/** Which plain key the string at `i` is (0: none of them). */
function keyOf(b: Uint8Array, i: number, end: number): number {
  switch (b[i + 1]) {
    case 0x69: // i
      if (matches(b, i, end, KEYS[Key.Id]!)) return Key.Id;
      return matches(b, i, end, KEYS[Key.Image]!) ? Key.Image : 0;
    case 0x6d: // m
      return matches(b, i, end, KEYS[Key.Model]!) ? Key.Model : 0;
    case 0x63: // c
      return matches(b, i, end, KEYS[Key.Conversations]!) ? Key.Conversations : 0;
    default:
      return 0;
  }
}

function matches(b: Uint8Array, i: number, end: number, word: Uint8Array): boolean {
  return i + word.length <= end && matchesAt(b, i, word);
}

function matchesAt(b: Uint8Array, i: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

// The newlines `skip` passed since the record being read started, and the last one (a record's strings hold none).
let newlines = 0;
let lastNewline = -1;

/** The index of the first byte at or after `i` that is not JSON whitespace (`end` when none). */
function skip(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (WS[c] !== 1) break;
    if (c === 0x0a) {
      newlines++;
      lastNewline = i;
    }
    i++;
  }
  return i;
}

/**
 * A JSON integer `JSON.parse` reads exactly and `String()` writes back as it is (no sign, no leading zero, at most 15
 * digits, no fraction or exponent): the index after it, or -1.
 */
function integer(b: Uint8Array, i: number, end: number): number {
  const first = i;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  const digits = i - first;
  if (digits === 0 || digits > 15 || (b[first] === 0x30 && digits > 1)) return -1;
  const next = b[i];
  return next === 0x2c || next === 0x7d || WS[next!] === 1 ? i : -1;
}

/** Whether the backslash at `at` starts an escape (an even run of backslashes before it, back to `open`). */
function escapeStartsAt(b: Uint8Array, open: number, at: number): boolean {
  if (at < open || b[at] !== 0x5c) return false;
  let run = 0;
  for (let k = at - 1; k >= open && b[k] === 0x5c; k--) run++;
  return run % 2 === 0;
}

/** A string's contents `b[open…close]` hold a character `trim()` keeps (an ASCII one that is no space or escape). */
function hasVisible(b: Uint8Array, open: number, close: number): boolean {
  for (let k = open; k < close; k++) {
    const c = b[k]!;
    if (c > 0x20 && c < 0x7f && c !== 0x5c) return true;
  }
  return false;
}

/** A value's contents are not empty and do not start or end with a character `value/whitespace` takes for space. */
function trimmed(b: Uint8Array, open: number, close: number): boolean {
  if (close <= open) return false;
  // first character
  let c = b[open]!;
  if (c === 0x5c) c = ESCAPED[b[open + 1]!]!;
  else if (c >= 0x80) c = codePointAt(b, open);
  if (isSpace(c)) return false;
  // last character: an escape when its backslash starts one
  c = b[close - 1]!;
  if (c >= 0x80) {
    let lead = close - 1;
    while (lead > open && (b[lead]! & 0xc0) === 0x80) lead--;
    c = codePointAt(b, lead);
  } else if (close - 2 >= open && escapeStartsAt(b, open, close - 2)) c = ESCAPED[c]!;
  return !isSpace(c);
}

/** `end`, or where the UTF-8 sequence cut by `end` starts (a chunk may end inside one). */
function charBoundary(b: Uint8Array, end: number): number {
  let lead = end - 1;
  while (lead >= 0 && lead > end - 4 && (b[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const c = b[lead]!;
  const length = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return lead + length > end ? lead : end;
}

/** The code point of the UTF-8 sequence at `i` (valid UTF-8: the caller checked). */
function codePointAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return c;
  if (c < 0xe0) return ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
  if (c < 0xf0) return ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
  return ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
}

/** The text of a string token `b[start…end]` (with its quotes) that {@link PlainReader} took. */
export function plainString(b: Buffer, start: number, end: number): string {
  for (let k = start + 1; k < end - 1; k++) {
    if (b[k] === 0x5c) return JSON.parse(b.toString('utf8', start, end)) as string;
  }
  return b.toString('utf8', start + 1, end - 1);
}
