/**
 * Snappy for the pages llavakit reads and writes: hysnappy (the C reference implementation compiled to WebAssembly)
 * instead of the JavaScript codecs of hyparquet and hyparquet-writer, 2–5× faster on text pages.
 */
import { snappyUncompress as uncompressInJs } from 'hyparquet';
import { snappyCompress as compressInJs } from 'hyparquet-writer/src/snappy.js';
import { snappyCompressor, snappyUncompressor } from 'hysnappy';

/**
 * Pages larger than this are (un)compressed in JavaScript: the WebAssembly memory grows to hold a page's input and
 * output and never shrinks, so one huge image must not pin that much memory for the rest of the run.
 */
const WASM_PAGE_LIMIT = 8 << 20;
/** Bytes of a page compressed first to see whether it compresses at all (image bytes mostly do not). */
const SAMPLE = 32 << 10;
/** Stored (literal-only) when the sample shrinks less than this. */
const WORTH = 0.95;

let wasmUncompress: ((input: Uint8Array, outputLength: number) => Uint8Array) | undefined;
let wasmCompress: ((input: Uint8Array) => Uint8Array) | undefined;

/**
 * The bytes of a Snappy stream made of literals only (what {@link snappyStore} writes for image bytes), or undefined
 * for any other stream: one literal is returned as a view of the input (no copy), several are joined.
 */
export function storedBytes(input: Uint8Array, outputLength: number): Uint8Array | undefined {
  let at = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= input.length || shift > 28) return undefined;
    const b = input[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length !== outputLength) return undefined;
  const literals: [number, number][] = [];
  let total = 0;
  while (at < input.length) {
    const tag = input[at++]!;
    if ((tag & 3) !== 0) return undefined;
    let n = tag >>> 2;
    if (n >= 60) {
      const bytes = n - 59;
      if (at + bytes > input.length) return undefined;
      n = 0;
      for (let k = 0; k < bytes; k++) n += input[at + k]! * 2 ** (8 * k);
      at += bytes;
    }
    n += 1;
    if (at + n > input.length) return undefined;
    literals.push([at, n]);
    total += n;
    at += n;
  }
  if (total !== outputLength) return undefined;
  if (literals.length === 1) return input.subarray(literals[0]![0], literals[0]![0] + total);
  const out = new Uint8Array(total);
  let to = 0;
  for (const [from, n] of literals) {
    out.set(input.subarray(from, from + n), to);
    to += n;
  }
  return out;
}

/** Uncompress a Snappy page (the `compressors.SNAPPY` of hyparquet's read options). */
export function snappyUncompress(input: Uint8Array, outputLength: number): Uint8Array {
  // Image bytes are stored as literals: read them as they are (the first element of a compressed page is a short
  // literal followed by a copy, so other pages are told apart after a byte or two).
  const stored = storedBytes(input, outputLength);
  if (stored) return stored;
  if (outputLength + input.length <= WASM_PAGE_LIMIT) {
    wasmUncompress ??= snappyUncompressor();
    return wasmUncompress(input, outputLength);
  }
  const output = new Uint8Array(outputLength);
  uncompressInJs(input, output);
  return output;
}

/** Append a varint (the Snappy preamble). */
function varint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** A valid Snappy stream holding `input` as literals only (64 KiB each), for bytes that do not compress. */
export function snappyStore(input: Uint8Array): Uint8Array {
  const head: number[] = [];
  varint(head, input.length);
  const chunks = Math.ceil(input.length / 65536);
  const out = new Uint8Array(head.length + chunks * 3 + input.length);
  out.set(head);
  let at = head.length;
  for (let from = 0; from < input.length; from += 65536) {
    const length = Math.min(65536, input.length - from);
    const n = length - 1;
    if (n < 60) out[at++] = n << 2;
    else if (n < 256) {
      out[at++] = 60 << 2;
      out[at++] = n;
    } else {
      out[at++] = 61 << 2;
      out[at++] = n & 0xff;
      out[at++] = n >>> 8;
    }
    out.set(input.subarray(from, from + length), at);
    at += length;
  }
  return out.subarray(0, at);
}

/**
 * Compress a page (the `compressors.SNAPPY` of hyparquet-writer): a sample first, and the page stored as literals
 * when the sample does not shrink (JPEG, PNG and WebP bytes), else compressed in WebAssembly (or in JavaScript for
 * a page past the memory limit).
 */
export function snappyCompress(input: Uint8Array): Uint8Array {
  if (input.length === 0) return snappyStore(input);
  wasmCompress ??= snappyCompressor();
  if (input.length > SAMPLE) {
    const sample = wasmCompress(input.subarray(0, SAMPLE));
    if (sample.length > SAMPLE * WORTH) return snappyStore(input);
  }
  if (input.length + (input.length >>> 2) > WASM_PAGE_LIMIT) return compressInJs(input);
  const compressed = wasmCompress(input);
  return compressed.length < input.length ? compressed : snappyStore(input);
}
