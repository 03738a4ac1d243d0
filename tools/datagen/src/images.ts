/**
 * Tiny valid images and the image tree a dataset file references (as a folder or a real zip), with a
 * configurable share of missing files and a few deliberately broken ones.
 */

import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { crc32 } from './crc32.js';
import { hashInts, hashString, permute, Rng } from './rng.js';
import { StoredZipWriter } from './zip-writer.js';

export { crc32 } from './crc32.js';

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid RGB PNG of one colour with a light diagonal stripe. */
export function encodePng(width: number, height: number, rgb: readonly [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const o = row + 1 + x * 3;
      const stripe = x === y ? 60 : 0;
      raw[o] = Math.min(255, rgb[0] + stripe);
      raw[o + 1] = Math.min(255, rgb[1] + stripe);
      raw[o + 2] = Math.min(255, rgb[2] + stripe);
    }
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid baseline JPEG of one colour with a light diagonal stripe (encoded with jpeg-js). */
export function encodeJpeg(width: number, height: number, rgb: readonly [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const stripe = x === y ? 60 : 0;
      data[o] = Math.min(255, rgb[0] + stripe);
      data[o + 1] = Math.min(255, rgb[1] + stripe);
      data[o + 2] = Math.min(255, rgb[2] + stripe);
      data[o + 3] = 255;
    }
  }
  return jpeg.encode({ width, height, data }, 80).data;
}

/** A 1×1 GIF (used as "GIF bytes named .jpg"). */
export const TINY_GIF = Buffer.from(
  '47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b',
  'hex',
);

/** A few bytes of an ISO-BMFF `ftyp` box: a placeholder for referenced videos (not a playable video). */
export const FAKE_MP4 = Buffer.from('0000001866747970697336d00000000169736f6d61766331', 'hex');

/** The kinds of deliberately broken files {@link writeImageTree} plants. */
export type BrokenKind = 'gif-as-jpg' | 'truncated-jpeg' | 'text-as-jpg';

const BROKEN_KINDS: readonly BrokenKind[] = ['gif-as-jpg', 'truncated-jpeg', 'text-as-jpg'];

const POOLS = new Map<string, { jpeg: Buffer[]; png: Buffer[] }>();

/** Pools of pre-encoded tiny images (a handful of sizes and colours, reused across files; memoised). */
export function tinyImagePool(seed = 1, size = 4): { jpeg: Buffer[]; png: Buffer[] } {
  const memo = POOLS.get(`${seed}/${size}`);
  if (memo) return memo;
  const rng = new Rng(hashInts(seed, 0x1a6e));
  const pool = { jpeg: [] as Buffer[], png: [] as Buffer[] };
  for (let i = 0; i < size; i++) {
    const w = rng.range(4, 32);
    const h = rng.range(4, 32);
    const rgb = [rng.int(200), rng.int(200), rng.int(200)] as const;
    pool.jpeg.push(encodeJpeg(w, h, rgb));
    pool.png.push(encodePng(w, h, rgb));
  }
  POOLS.set(`${seed}/${size}`, pool);
  return pool;
}

/**
 * Collects the distinct media paths (`image` strings or lists, `video`) a LLaVA-style JSON/JSONL file references,
 * in order of first use, by streaming the text and matching `"image": …` / `"video": …` members (string values
 * inside conversations cannot match: their quotes are escaped). Memory grows with the number of paths only.
 */
export async function collectMediaRefs(dataset: string): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  const re = /"(image|video)"\s*:\s*("(?:[^"\\]|\\.)*"|\[(?:\s*"(?:[^"\\]|\\.)*"\s*,?)*\s*\])/g;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  const take = (json: string) => {
    const value: unknown = JSON.parse(json);
    for (const p of Array.isArray(value) ? value : [value]) {
      if (typeof p === 'string' && p !== '' && !seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  };
  for await (const chunk of createReadStream(dataset, { highWaterMark: 4 << 20 })) {
    const text = carry + decoder.write(chunk as Buffer);
    re.lastIndex = 0;
    let end = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      take(m[2]!);
      end = re.lastIndex;
    }
    carry = text.slice(Math.max(end, text.length - 8192));
  }
  const rest = carry + decoder.end();
  re.lastIndex = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) take(m[2]!);
  return out;
}

/** Options of {@link writeImageTree}. */
export interface ImageTreeOptions {
  /** Dataset file whose references to write (or pass `refs`). */
  dataset?: string;
  /** Media paths to write instead of scanning a dataset. */
  refs?: readonly string[];
  /** Target folder (created). Exactly one of `dir` / `zip` is required. */
  dir?: string;
  /** Target zip file (stored entries, paths relative to the image root). */
  zip?: string;
  /** Share of references left missing, 0–1; default 0.15 when the references look like CC-3M, otherwise 0. */
  missing?: number;
  /** Number of broken files (cycling GIF-named-.jpg, truncated JPEG, text-named-.jpg); default 3. */
  broken?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

/** What {@link writeImageTree} wrote. */
export interface ImageTreeResult {
  referenced: number;
  written: number;
  /** Absolute paths and paths with `..` segments: never written outside the target. */
  skipped: string[];
  missing: string[];
  broken: { path: string; kind: BrokenKind }[];
  bytes: number;
  ms: number;
}

/** Decides deterministically whether a path is left missing. */
function isMissing(path: string, seed: number, share: number): boolean {
  return share > 0 && hashInts(seed, hashString(path)) / 4294967296 < share;
}

/**
 * Writes the media tree a dataset references: a tiny valid JPEG/PNG per image path (by extension; other extensions
 * get JPEG bytes, videos a placeholder), leaving a deterministic `missing` share out and planting `broken` bad files.
 * Works as a folder (`dir`) or a real zip archive (`zip`).
 *
 * @example
 * await writeImageTree({ dataset: 'chat.json', dir: 'images', missing: 0.15 });
 */
export async function writeImageTree(options: ImageTreeOptions): Promise<ImageTreeResult> {
  const t0 = performance.now();
  if ((options.dir === undefined) === (options.zip === undefined))
    throw new Error('writeImageTree: give exactly one of dir or zip');
  const refs = options.refs ?? (options.dataset ? await collectMediaRefs(options.dataset) : []);
  const seed = options.seed ?? 1;
  const share = options.missing ?? (refs[0]?.startsWith('GCC_train_') ? 0.15 : 0);
  const pool = tinyImagePool(seed);
  const brokenAt = new Map<number, BrokenKind>();
  const nBroken = Math.min(options.broken ?? 3, refs.length);
  for (let k = 0; k < nBroken; k++)
    brokenAt.set(permute(k, refs.length, seed ^ 0xb0), BROKEN_KINDS[k % BROKEN_KINDS.length]!);
  const result: ImageTreeResult = {
    referenced: refs.length,
    written: 0,
    skipped: [],
    missing: [],
    broken: [],
    bytes: 0,
    ms: 0,
  };

  const bytesFor = (i: number, path: string): Buffer | undefined => {
    if (isAbsolute(path) || /^[a-zA-Z]:|(^|[\\/])\.\.([\\/]|$)/.test(path)) {
      result.skipped.push(path);
      return undefined;
    }
    const bad = brokenAt.get(i);
    if (bad) {
      result.broken.push({ path, kind: bad });
      const good = pool.jpeg[0]!;
      if (bad === 'gif-as-jpg') return TINY_GIF;
      if (bad === 'truncated-jpeg') return good.subarray(0, Math.floor(good.length / 2));
      return Buffer.from('<html><body>404 Not Found</body></html>\n');
    }
    if (isMissing(path, seed, share)) {
      result.missing.push(path);
      return undefined;
    }
    const lower = path.toLowerCase();
    const pick = hashString(path) % pool.jpeg.length;
    if (lower.endsWith('.png')) return pool.png[pick];
    if (lower.endsWith('.mp4') || lower.endsWith('.avi') || lower.endsWith('.mkv') || lower.endsWith('.webm'))
      return FAKE_MP4;
    return pool.jpeg[pick];
  };

  if (options.zip !== undefined) {
    const zip = new StoredZipWriter(`${options.zip}.partial`, { mtime: new Date(Date.UTC(2023, 3, 1)) });
    for (let i = 0; i < refs.length; i++) {
      const path = refs[i]!;
      const buf = bytesFor(i, path);
      if (!buf) continue;
      zip.add(path, buf);
      result.written++;
      result.bytes += buf.length;
    }
    zip.close();
    await rename(`${options.zip}.partial`, options.zip);
  } else {
    // Synchronous writes: for hundreds of thousands of tiny files they are ~3× faster than fs.promises here.
    const root = options.dir!;
    mkdirSync(root, { recursive: true });
    const dirs = new Set<string>([root]);
    for (let i = 0; i < refs.length; i++) {
      const path = refs[i]!;
      const buf = bytesFor(i, path);
      if (!buf) continue;
      const target = join(root, path);
      const dir = dirname(target);
      if (!dirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        dirs.add(dir);
      }
      writeFileSync(target, buf);
      result.written++;
      result.bytes += buf.length;
    }
  }
  result.ms = Math.round(performance.now() - t0);
  return result;
}
