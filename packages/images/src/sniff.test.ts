import { inflateSync } from 'node:zlib';
import { fc, test } from '@fast-check/vitest';
import { crc32, encodeTinyImage } from '@llavakit/testkit';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { fixtures } from './_testing.js';
import { formatOfExtension, sniffImage } from './sniff.js';

/** Minimal GIF LZW decoder, to prove the encoder's output decodes to the right pixel count. */
function decodeGifPixels(bytes: Uint8Array): number[] {
  let i = 13 + 3 * (1 << ((bytes[10]! & 7) + 1));
  expect(bytes[i]).toBe(0x2c);
  i += 10;
  const minCodeSize = bytes[i++]!;
  const data: number[] = [];
  while (bytes[i] !== 0) {
    const n = bytes[i++]!;
    data.push(...bytes.subarray(i, i + n));
    i += n;
  }
  expect(bytes[i + 1]).toBe(0x3b);
  const clear = 1 << minCodeSize;
  let size = minCodeSize + 1;
  let table: number[][] = [];
  const reset = () => {
    table = Array.from({ length: clear + 2 }, (_, k) => [k]);
    size = minCodeSize + 1;
  };
  reset();
  const out: number[] = [];
  let bit = 0;
  let prev: number[] | undefined;
  for (;;) {
    let code = 0;
    for (let k = 0; k < size; k++, bit++) code |= ((data[bit >> 3]! >> (bit & 7)) & 1) << k;
    if (code === clear) {
      reset();
      prev = undefined;
      continue;
    }
    if (code === clear + 1) break;
    const entry = table[code] ?? [...prev!, prev![0]!];
    out.push(...entry);
    if (prev) table.push([...prev, entry[0]!]);
    if (table.length === 1 << size && size < 12) size++;
    prev = entry;
  }
  return out;
}

describe('encodeTinyImage', () => {
  it('writes a JPEG that jpeg-js decodes to the requested size and colour', () => {
    const bytes = encodeTinyImage('jpeg', { width: 21, height: 9, color: [20, 120, 200] });
    const decoded = jpeg.decode(bytes, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([21, 9]);
    const [r, g, b] = decoded.data;
    expect(Math.abs(r! - 20)).toBeLessThanOrEqual(2);
    expect(Math.abs(g! - 120)).toBeLessThanOrEqual(2);
    expect(Math.abs(b! - 200)).toBeLessThanOrEqual(2);
  });

  it('writes a PNG with valid chunk CRCs and a deflate stream of the right size', () => {
    const bytes = encodeTinyImage('png', { width: 5, height: 3 });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    let at = 8;
    const types: string[] = [];
    let idat: Uint8Array | undefined;
    while (at < bytes.length) {
      const length = view.getUint32(at);
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      types.push(type);
      expect(view.getUint32(at + 8 + length)).toBe(crc32(bytes, at + 4, at + 8 + length));
      if (type === 'IDAT') idat = bytes.subarray(at + 8, at + 8 + length);
      at += 12 + length;
    }
    expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(inflateSync(idat!).length).toBe(3 * (1 + 5 * 3));
  });

  it('writes a GIF whose LZW data decodes to width × height pixels', () => {
    expect(decodeGifPixels(encodeTinyImage('gif', { width: 7, height: 5 }))).toEqual(new Array(35).fill(0));
    expect(decodeGifPixels(encodeTinyImage('gif', { width: 1, height: 1 }))).toEqual([0]);
  });

  it('writes a RIFF WEBP whose size field matches its length', () => {
    const bytes = encodeTinyImage('webp', { width: 3, height: 4 });
    expect(String.fromCharCode(...bytes.subarray(0, 4), ...bytes.subarray(8, 16))).toBe('RIFFWEBPVP8L');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(bytes.length - 8);
    expect(bytes.length % 2).toBe(0);
  });

  it('rejects sizes it cannot write', () => {
    expect(() => encodeTinyImage('png', { width: 0, height: 1 })).toThrow(RangeError);
    expect(() => encodeTinyImage('png', { width: 1.5, height: 1 })).toThrow(RangeError);
  });
});

describe('sniffImage', () => {
  test.prop(
    [
      fc.constantFrom('jpeg', 'png', 'gif', 'webp' as const),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 1, max: 120 }),
    ],
    {
      numRuns: 40,
    },
  )('reads back format and dimensions of every encoded image', (format, width, height) => {
    expect(sniffImage(encodeTinyImage(format, { width, height }))).toEqual({ format, width, height, truncated: false });
  });

  it('reads dimensions from a real jpeg-js encoded photo-like JPEG', () => {
    const width = 37;
    const height = 23;
    const data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const bytes = jpeg.encode({ data, width, height }, 80).data;
    expect(sniffImage(bytes)).toEqual({ format: 'jpeg', width, height, truncated: false });
  });

  it('reads VP8X and lossy VP8 WEBP headers', () => {
    expect(sniffImage(fixtures.webpVp8x(300, 200))).toMatchObject({
      format: 'webp',
      width: 300,
      height: 200,
      truncated: false,
    });
    const vp8 = new Uint8Array(40);
    vp8.set(new TextEncoder().encode('RIFF'), 0);
    new DataView(vp8.buffer).setUint32(4, 32, true);
    vp8.set(new TextEncoder().encode('WEBPVP8 '), 8);
    vp8.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00], 23);
    expect(sniffImage(vp8)).toEqual({ format: 'webp', width: 320, height: 240, truncated: false });
  });

  it('reads BMP headers and notices short BMPs', () => {
    const bmp = new Uint8Array(70);
    const view = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    view.setUint32(2, 70, true);
    view.setUint32(14, 40, true);
    view.setInt32(18, 4, true);
    view.setInt32(22, -3, true);
    expect(sniffImage(bmp)).toEqual({ format: 'bmp', width: 4, height: 3, truncated: false });
    expect(sniffImage(bmp.subarray(0, 60))).toMatchObject({ format: 'bmp', truncated: true });
  });

  it('flags truncated JPEG, PNG and WEBP files', () => {
    expect(sniffImage(fixtures.truncatedJpeg())).toMatchObject({
      format: 'jpeg',
      width: 64,
      height: 64,
      truncated: true,
    });
    expect(sniffImage(fixtures.pngWithoutIend())).toMatchObject({ format: 'png', width: 8, truncated: true });
    expect(sniffImage(fixtures.truncatedPng())).toMatchObject({ format: 'png', truncated: true });
    expect(sniffImage(fixtures.truncatedWebp())).toMatchObject({ format: 'webp', truncated: true });
    const gif = fixtures.gif();
    expect(sniffImage(gif.subarray(0, gif.length - 1))).toMatchObject({ format: 'gif', truncated: true });
  });

  it('flags a JPEG cut right after its headers (no scan data)', () => {
    const b = fixtures.jpeg();
    const sos = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xda);
    expect(sniffImage(b.subarray(0, sos))).toMatchObject({ format: 'jpeg', truncated: true });
  });

  it('accepts bytes after a JPEG end-of-image marker', () => {
    const b = fixtures.jpeg();
    const trailer = new Uint8Array(b.length + 10);
    trailer.set(b);
    expect(sniffImage(trailer).truncated).toBe(false);
  });

  it('works from head and tail only', () => {
    const big = new Uint8Array(200_000);
    const jpegBytes = fixtures.jpeg(640, 480);
    big.set(jpegBytes.subarray(0, jpegBytes.length - 2));
    big.set([0xff, 0xd9], big.length - 2);
    const head = big.subarray(0, 65536);
    expect(sniffImage(head, { tail: big.subarray(big.length - 4096), size: big.length })).toEqual({
      format: 'jpeg',
      width: 640,
      height: 480,
      truncated: false,
    });
    expect(sniffImage(head, { tail: big.subarray(100_000, 104_096), size: big.length }).truncated).toBe(true);
  });

  it('describes non-images', () => {
    expect(sniffImage(fixtures.empty())).toEqual({ format: 'unknown', truncated: false, note: 'empty file (0 bytes)' });
    expect(sniffImage(fixtures.text())).toMatchObject({ format: 'unknown', note: 'text' });
    expect(sniffImage(fixtures.html())).toMatchObject({ format: 'unknown', note: 'an HTML page' });
    expect(sniffImage(Uint8Array.of(0, 1, 2, 3, 250, 251))).toMatchObject({
      format: 'unknown',
      note: 'unrecognised binary data',
    });
  });

  test.prop([fc.uint8Array({ maxLength: 300 })])('never throws on arbitrary bytes', (bytes) => {
    const info = sniffImage(bytes);
    expect(typeof info.truncated).toBe('boolean');
  });

  test.prop([fc.constantFrom('jpeg', 'png', 'gif', 'webp' as const), fc.nat()])(
    'never throws on cut images',
    (format, cut) => {
      const bytes = encodeTinyImage(format, { width: 20, height: 20 });
      sniffImage(bytes.subarray(0, cut % bytes.length));
    },
  );
});

describe('formatOfExtension', () => {
  it('maps extensions case-insensitively', () => {
    expect(formatOfExtension('a/b.JPG')).toBe('jpeg');
    expect(formatOfExtension('x.jpeg')).toBe('jpeg');
    expect(formatOfExtension('x.webp')).toBe('webp');
    expect(formatOfExtension('dir.d/file')).toBeUndefined();
    expect(formatOfExtension('x.txt')).toBeUndefined();
  });
});
