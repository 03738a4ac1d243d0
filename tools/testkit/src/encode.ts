import { deflateSync } from 'node:zlib';

/** Formats {@link encodeTinyImage} can write. */
export type TinyImageFormat = 'jpeg' | 'png' | 'gif' | 'webp';

/** Options of {@link encodeTinyImage}. */
export interface TinyImageOptions {
  /** Width in pixels (1–16383). */
  readonly width: number;
  /** Height in pixels (1–16383). */
  readonly height: number;
  /** Fill colour as `[r, g, b]`, each 0–255. Default: a mid orange. */
  readonly color?: readonly [number, number, number];
}

/**
 * Encode a small solid-colour image as real, decodable bytes: a baseline JPEG (JFIF), an 8-bit RGB PNG, a GIF89a or
 * a lossless WEBP (VP8L). No dependencies; meant for test data, examples and generated datasets.
 *
 * @example
 * ```ts
 * await writeFile('x.jpg', encodeTinyImage('jpeg', { width: 32, height: 24, color: [20, 120, 200] }));
 * ```
 */
export function encodeTinyImage(format: TinyImageFormat, options: TinyImageOptions): Uint8Array {
  const { width, height } = options;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 16383 ||
    height > 16383
  ) {
    throw new RangeError(`encodeTinyImage: width and height must be integers in 1..16383, got ${width}×${height}`);
  }
  const color = options.color ?? [230, 120, 40];
  const rgb = color.map((c) => Math.max(0, Math.min(255, Math.round(c)))) as [number, number, number];
  switch (format) {
    case 'jpeg':
      return encodeJpeg(width, height, rgb);
    case 'png':
      return encodePng(width, height, rgb);
    case 'gif':
      return encodeGif(width, height, rgb);
    case 'webp':
      return encodeWebp(width, height, rgb);
    default:
      throw new TypeError(`encodeTinyImage: unknown format ${String(format)}`);
  }
}

// ---------- PNG ----------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the PNG/zip polynomial) of some bytes. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC over type+data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function encodePng(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, adaptive filtering, no interlace
  const stride = 1 + width * 3;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set([r, g, b], y * stride + 1 + x * 3);
  }
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', new Uint8Array(deflateSync(raw))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

// ---------- JPEG (baseline, solid colour: DC coefficients only) ----------

const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const DC_CODES = (() => {
  const codes: { code: number; length: number }[] = [];
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let n = 0; n < DC_BITS[length - 1]!; n++) codes[DC_VALUES[k++]!] = { code: code++, length };
    code <<= 1;
  }
  return codes;
})();

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;
  constructor(private readonly stuff: boolean) {}
  /** Append `length` bits of `value`, most significant first (JPEG order). */
  msb(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }
  /** Pad with one-bits to a byte boundary. */
  padOnes(): void {
    while (this.count !== 0) this.msb(1, 1);
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.stuff && this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.count = 0;
  }
}

function encodeJpeg(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  // With a quantisation table of ones the DC coefficient of a flat block is 8 × (sample − 128).
  const dcs = [y, cb, cr].map((v) => Math.round(8 * (Math.max(0, Math.min(255, v)) - 128)));
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const bits = new BitWriter(true);
  const previous = [0, 0, 0];
  for (let block = 0; block < blocks; block++) {
    for (let c = 0; c < 3; c++) {
      const diff = dcs[c]! - previous[c]!;
      previous[c] = dcs[c]!;
      const magnitude = Math.abs(diff);
      const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
      const { code, length } = DC_CODES[category]!;
      bits.msb(code, length);
      if (category > 0) bits.msb(diff >= 0 ? diff : diff + (1 << category) - 1, category);
      bits.msb(0, 1); // AC: end-of-block, the only symbol of the AC table (code "0")
    }
  }
  bits.padOnes();
  const u16 = (v: number) => [(v >>> 8) & 0xff, v & 0xff];
  const jfif = [0xff, 0xe0, ...u16(16), 0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, ...u16(1), ...u16(1), 0, 0];
  const dqt = [0xff, 0xdb, ...u16(67), 0x00, ...new Array<number>(64).fill(1)];
  const sof = [0xff, 0xc0, ...u16(17), 8, ...u16(height), ...u16(width), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
  const acBits = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const dht = [
    0xff,
    0xc4,
    ...u16(2 + 17 + DC_VALUES.length + 17 + 1),
    0x00,
    ...DC_BITS,
    ...DC_VALUES,
    0x10,
    ...acBits,
    0x00,
  ];
  const sos = [0xff, 0xda, ...u16(12), 3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0];
  return Uint8Array.from([0xff, 0xd8, ...jfif, ...dqt, ...sof, ...dht, ...sos, ...bits.bytes, 0xff, 0xd9]);
}

// ---------- GIF ----------

function encodeGif(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
  const header = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61, ...u16(width), ...u16(height), 0x80, 0, 0, r, g, b, 0, 0, 0];
  const descriptor = [0x2c, ...u16(0), ...u16(0), ...u16(width), ...u16(height), 0];
  // LZW with minimum code size 2: codes are 3 bits wide as long as the table stays below 8 entries, so emit a
  // clear code before every pair of pixels (each pair adds at most one table entry).
  const CLEAR = 4;
  const END = 5;
  const lzw: number[] = [];
  let acc = 0;
  let count = 0;
  const put = (code: number) => {
    acc |= code << count;
    count += 3;
    while (count >= 8) {
      lzw.push(acc & 0xff);
      acc >>>= 8;
      count -= 8;
    }
  };
  const pixels = width * height;
  for (let p = 0; p < pixels; p++) {
    if (p % 2 === 0) put(CLEAR);
    put(0);
  }
  put(END);
  if (count > 0) lzw.push(acc & 0xff);
  const blocks: number[] = [];
  for (let i = 0; i < lzw.length; i += 255) {
    const part = lzw.slice(i, i + 255);
    blocks.push(part.length, ...part);
  }
  return Uint8Array.from([...header, ...descriptor, 2, ...blocks, 0, 0x3b]);
}

// ---------- WEBP (lossless VP8L, one-symbol prefix codes: zero bits per pixel) ----------

function encodeWebp(width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = 0; i < length; i++) bits.push((value >>> i) & 1); // VP8L is least-significant-bit first
  };
  put(width - 1, 14);
  put(height - 1, 14);
  put(0, 1); // alpha not used
  put(0, 3); // version 0
  put(0, 1); // no transform
  put(0, 1); // no colour cache
  put(0, 1); // no meta prefix codes
  for (const symbol of [g, r, b, 255]) {
    put(1, 1); // simple code
    put(0, 1); // one symbol
    put(1, 1); // 8-bit symbol
    put(symbol, 8);
  }
  put(1, 1); // distance: simple code
  put(0, 1); // one symbol
  put(0, 1); // 1-bit symbol
  put(0, 1); // symbol 0
  const stream = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    stream[i >>> 3]! |= bit << (i & 7);
  });
  const data = concat([Uint8Array.of(0x2f), stream]);
  const padded = data.length % 2 === 1 ? concat([data, Uint8Array.of(0)]) : data;
  const out = new Uint8Array(20 + padded.length);
  const view = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46], 0);
  view.setUint32(4, 12 + padded.length, true);
  out.set([0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c], 8);
  view.setUint32(16, data.length, true);
  out.set(padded, 20);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
