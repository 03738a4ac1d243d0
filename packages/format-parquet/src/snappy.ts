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

/** Uncompress a Snappy page (the `compressors.SNAPPY` of hyparquet's read options). */
export function snappyUncompress(input: Uint8Array, outputLength: number): Uint8Array {
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
