import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodeTinyImage } from './encode.js';

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('encodeTinyImage', () => {
  it('writes a PNG whose IHDR holds the size, with valid chunk CRCs and pixel data', () => {
    const png = encodeTinyImage('png', { width: 7, height: 3, color: [1, 2, 3] });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(view(png).getUint32(16)).toBe(7);
    expect(view(png).getUint32(20)).toBe(3);
    expect(view(png).getUint32(29)).toBe(crc32(png, 12, 29));
    const idatLength = view(png).getUint32(33);
    const pixels = inflateSync(png.subarray(41, 41 + idatLength));
    expect(pixels.length).toBe(3 * (1 + 7 * 3));
    expect([...pixels.subarray(1, 4)]).toEqual([1, 2, 3]);
    expect(Buffer.from(png.subarray(-8, -4)).toString('latin1')).toBe('IEND');
  });

  it('writes a JPEG from SOI to EOI with its size in the frame header', () => {
    const jpeg = encodeTinyImage('jpeg', { width: 33, height: 17 });
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect([jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd9]);
    const sof = Buffer.from(jpeg).indexOf(Buffer.from([0xff, 0xc0]));
    expect(view(jpeg).getUint16(sof + 5)).toBe(17);
    expect(view(jpeg).getUint16(sof + 7)).toBe(33);
  });

  it('writes GIF and WEBP headers with the size', () => {
    const gif = encodeTinyImage('gif', { width: 300, height: 2 });
    expect(Buffer.from(gif.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
    expect([view(gif).getUint16(6, true), view(gif).getUint16(8, true)]).toEqual([300, 2]);
    expect(gif.at(-1)).toBe(0x3b);
    const webp = encodeTinyImage('webp', { width: 5, height: 9 });
    expect(Buffer.from(webp.subarray(0, 4)).toString('latin1')).toBe('RIFF');
    expect(Buffer.from(webp.subarray(8, 16)).toString('latin1')).toBe('WEBPVP8L');
    expect(view(webp).getUint32(4, true)).toBe(webp.length - 8);
  });

  it('refuses sizes it cannot write', () => {
    expect(() => encodeTinyImage('png', { width: 0, height: 1 })).toThrow();
    expect(() => encodeTinyImage('png', { width: 1.5, height: 1 })).toThrow();
  });
});
