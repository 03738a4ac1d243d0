/**
 * Test helpers (internal, not exported from the package index): real image bytes, corrupt variants, temp trees and
 * zip archives built with yazl, including archives with data descriptors, ZIP64 records and unsafe entry names.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeTinyImage, pngChunk } from '@llavakit/testkit';
import yazl from 'yazl';

/** The byte content of every fixture kind used by the tests. */
export const fixtures = {
  jpeg: (w = 16, h = 8) => encodeTinyImage('jpeg', { width: w, height: h }),
  png: (w = 16, h = 8) => encodeTinyImage('png', { width: w, height: h }),
  gif: (w = 16, h = 8) => encodeTinyImage('gif', { width: w, height: h }),
  webp: (w = 16, h = 8) => encodeTinyImage('webp', { width: w, height: h }),
  /** VP8X (extended) WEBP header with a canvas size, followed by a VP8L chunk. */
  webpVp8x: (w = 300, h = 200) => {
    const inner = encodeTinyImage('webp', { width: w, height: h });
    const vp8l = inner.subarray(12);
    const out = new Uint8Array(12 + 18 + vp8l.length);
    const view = new DataView(out.buffer);
    out.set(inner.subarray(0, 12));
    out.set([0x56, 0x50, 0x38, 0x58], 12);
    view.setUint32(16, 10, true);
    out.set([0, 0, 0, 0], 20);
    out.set(
      [(w - 1) & 0xff, ((w - 1) >> 8) & 0xff, (w - 1) >> 16, (h - 1) & 0xff, ((h - 1) >> 8) & 0xff, (h - 1) >> 16],
      24,
    );
    out.set(vp8l, 30);
    view.setUint32(4, out.length - 8, true);
    return out;
  },
  /** A JPEG cut before its end-of-image marker. */
  truncatedJpeg: () => {
    const b = encodeTinyImage('jpeg', { width: 64, height: 64 });
    return b.subarray(0, b.length - 6);
  },
  /** A PNG without its IEND chunk. */
  pngWithoutIend: () => {
    const b = encodeTinyImage('png', { width: 8, height: 8 });
    return b.subarray(0, b.length - 12);
  },
  /** A PNG whose IDAT is cut in half (and so no IEND). */
  truncatedPng: () => {
    const b = encodeTinyImage('png', { width: 40, height: 40 });
    return b.subarray(0, Math.floor(b.length / 2));
  },
  /** A WEBP shorter than its RIFF header says. */
  truncatedWebp: () => {
    const b = encodeTinyImage('webp', { width: 40, height: 40 });
    return b.subarray(0, b.length - 2);
  },
  text: () => new TextEncoder().encode('404: Not Found\nThe requested image does not exist.\n'),
  html: () => new TextEncoder().encode('<!DOCTYPE html><html><body>Error</body></html>'),
  empty: () => new Uint8Array(0),
  pngChunk,
};

/** A fresh temp directory; remove it with {@link removeTemp}. */
export function makeTemp(label = 'llavakit-images-'): Promise<string> {
  return mkdtemp(join(tmpdir(), label));
}

/** Remove a temp directory. */
export function removeTemp(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Write files given as `relative path → bytes` under `root`. */
export async function writeTree(root: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [rel, bytes] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
}

/** How to add one entry to a test zip. */
export interface ZipEntrySpec {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Deflate the entry (default false: stored). */
  readonly compress?: boolean;
  /** Write it through a stream so yazl uses a data descriptor (general-purpose bit 3). */
  readonly dataDescriptor?: boolean;
  /** Force ZIP64 records for this entry. */
  readonly zip64?: boolean;
}

/** Build a zip archive in memory with yazl. */
export async function buildZip(entries: readonly ZipEntrySpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    const options = { compress: e.compress ?? false, forceZip64Format: e.zip64 ?? false, mtime: new Date(2024, 0, 1) };
    if (e.dataDescriptor) {
      const stream = new PassThrough();
      stream.end(Buffer.from(e.bytes));
      zip.addReadStream(stream, e.name, options);
    } else {
      zip.addBuffer(Buffer.from(e.bytes), e.name, options);
    }
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Rename entries in a built zip by replacing every occurrence of `from` with `to` (same byte length) — how tests
 * make archives with names yazl refuses to write (`../evil.jpg`, `/abs/x.jpg`).
 */
export function patchZipNames(zip: Buffer, from: string, to: string): Buffer {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to))
    throw new Error('patchZipNames: names must have the same length');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  let at = out.indexOf(needle);
  let count = 0;
  while (at >= 0) {
    out.write(to, at);
    count++;
    at = out.indexOf(needle, at + needle.length);
  }
  if (count === 0) throw new Error(`patchZipNames: "${from}" not found`);
  return out;
}
