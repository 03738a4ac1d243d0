/**
 * The outputs of plain records ({@link PlainReader}) for the targets whose output is a fixed arrangement of the
 * input's tokens: what the full path (decode, check, encode, `JSON.stringify`) writes for such a record, byte for
 * byte, and the summary counts it makes. A target or option not listed here has none: its records take the full
 * path. `plain.test.ts` holds each encoder equal to its format's own `encode`.
 */
import { IMAGE_POLICY_EVENTS } from '../image-events.js';
import type { PlainReader } from './plain.js';
import type { FormatRef } from './protocol.js';

/** Where an encoder writes: a buffer with room for {@link plainOutputBound} bytes at `used`. */
export interface PlainOutput {
  buffer: Uint8Array;
  used: number;
}

/** Writes one plain record's output into `out` and counts what its format's encode would count. */
export type PlainEncoder = (
  record: PlainReader,
  bytes: Uint8Array,
  out: PlainOutput,
  count: (event: string) => void,
) => void;

/** At most this many bytes are written for a record of `length` input bytes with `turns` turns. */
export function plainOutputBound(length: number, turns: number): number {
  return 2 * length + 32 * turns + 256;
}

/**
 * The plain encoder of a conversion, when there is one: the source is the built-in `llava` reader and the target a
 * built-in format whose options leave plain records as they are (`sharegpt` with its defaults, `llava` without
 * `normalize` or a policy that moves `<image>`).
 */
export function plainEncoderFor(source: FormatRef, target: FormatRef, targetOptions: object): PlainEncoder | undefined {
  if (source.module !== undefined || target.module !== undefined || source.name !== 'llava') return undefined;
  const options = targetOptions as Record<string, unknown>;
  if (target.name === 'sharegpt') {
    const defaults = { imageToken: 'per-token', layout: 'conversations', idField: true, meta: true };
    return sameOptions(options, defaults) ? shareGpt : undefined;
  }
  if (target.name === 'llava') {
    const keeps = options.imageToken === undefined || options.imageToken === 'keep';
    return keeps && options.normalize === false && onlyKeys(options, ['imageToken', 'normalize']) ? llava : undefined;
  }
  return undefined;
}

function sameOptions(options: Record<string, unknown>, expected: Record<string, unknown>): boolean {
  const keys = Object.keys(options);
  return keys.length === Object.keys(expected).length && keys.every((key) => options[key] === expected[key]);
}

function onlyKeys(options: Record<string, unknown>, keys: readonly string[]): boolean {
  return Object.keys(options).every((key) => keys.includes(key));
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const OPEN_ID = ascii('{"id":');
const QUOTE = ascii('"');
const HUMAN_TURN = ascii('{"from":"human","value":');
const GPT_TURN = ascii('{"from":"gpt","value":');
const COMMA = ascii(',');
const CLOSE_TURNS = ascii(']');
const CLOSE = ascii('}');
const CONVERSATIONS = ascii(',"conversations":[');
const IMAGES = ascii(',"images":[');
const IMAGE = ascii(',"image":');
const MODEL = ascii(',"model":');
// llava_meta's JSON inside a JSON string: {"set":{…},"order":[…]} with its quotes escaped
const META = ascii(',"llava_meta":"{\\"set\\":{');
const META_ID = ascii('\\"id\\":');
const META_MODEL = ascii('\\"model\\":\\"');
const META_MODEL_END = ascii('\\"');
const META_ORDER = ascii('},\\"order\\":[\\"id\\",\\"model\\",\\"conversations\\"]}"');
const META_END = ascii('}}"');

const bufferCopy = Buffer.prototype.copy;

/** Below this many bytes a loop copies: cheaper than a native call and a view (most tokens: keys, roles, ids). */
const SHORT_COPY = 48;

function put(out: PlainOutput, word: Uint8Array): void {
  const buffer = out.buffer;
  let at = out.used;
  for (let i = 0; i < word.length; i++) buffer[at++] = word[i]!;
  out.used = at;
}

function copy(out: PlainOutput, bytes: Uint8Array, start: number, end: number): void {
  const buffer = out.buffer;
  let at = out.used;
  if (end - start < SHORT_COPY) {
    for (let i = start; i < end; i++) buffer[at++] = bytes[i]!;
    out.used = at;
    return;
  }
  // (Buffer's copy takes the offsets: no view is made of the source, as `subarray` would)
  bufferCopy.call(bytes, buffer, at, start, end);
  out.used = at + (end - start);
}

function turnsOf(r: PlainReader, b: Uint8Array, out: PlainOutput): void {
  for (let t = 0; t < r.turns; t++) {
    if (t > 0) put(out, COMMA);
    put(out, t % 2 === 0 ? HUMAN_TURN : GPT_TURN);
    copy(out, b, r.valueStart[t]!, r.valueEnd[t]!);
    put(out, CLOSE);
  }
}

/**
 * ShareGPT as `shareGptFormat` writes a plain record with its default options: the id as a string, the turns, the
 * image in `images`; an integer id or a `model` key (which ShareGPT has no place for) in `llava_meta`.
 */
const shareGpt: PlainEncoder = (r, b, out, count) => {
  put(out, OPEN_ID);
  if (r.idKind === 1) copy(out, b, r.idStart, r.idEnd);
  else {
    put(out, QUOTE);
    copy(out, b, r.idStart, r.idEnd);
    put(out, QUOTE);
  }
  put(out, CONVERSATIONS);
  turnsOf(r, b, out);
  put(out, CLOSE_TURNS);
  if (r.imageStart >= 0) {
    put(out, IMAGES);
    copy(out, b, r.imageStart, r.imageEnd);
    put(out, CLOSE_TURNS);
    count(IMAGE_POLICY_EVENTS.kept);
  }
  const integerId = r.idKind === 2;
  const model = r.modelStart >= 0;
  if (integerId || model) {
    put(out, META);
    if (integerId) {
      put(out, META_ID);
      copy(out, b, r.idStart, r.idEnd);
      if (model) put(out, COMMA);
    }
    if (model) {
      put(out, META_MODEL);
      copy(out, b, r.modelStart + 1, r.modelEnd - 1);
      put(out, META_MODEL_END);
      put(out, META_ORDER);
    } else put(out, META_END);
    count('llava_meta:written');
  }
  put(out, CLOSE);
};

/** LLaVA as `llavaFormat` writes a record it keeps as it is: compact, keys in their order. */
const llava: PlainEncoder = (r, b, out) => {
  put(out, OPEN_ID);
  copy(out, b, r.idStart, r.idEnd);
  if (r.imageStart >= 0) {
    put(out, IMAGE);
    copy(out, b, r.imageStart, r.imageEnd);
  }
  if (r.modelStart >= 0) {
    put(out, MODEL);
    copy(out, b, r.modelStart, r.modelEnd);
  }
  put(out, CONVERSATIONS);
  turnsOf(r, b, out);
  put(out, CLOSE_TURNS);
  put(out, CLOSE);
};
