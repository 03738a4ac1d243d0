/** An image format recognised from its bytes. `unknown` means no known signature. */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'tiff' | 'unknown';

/** What {@link sniffImage} learned from an image's header (and tail). */
export interface ImageInfo {
  /** The real format, from the magic bytes; `unknown` when none matched. */
  readonly format: ImageFormat;
  /** Width in pixels, when the header holding it was within the bytes given. */
  readonly width?: number;
  /** Height in pixels, when the header holding it was within the bytes given. */
  readonly height?: number;
  /** True when the file ends before its format says it should (see {@link sniffImage}). */
  readonly truncated: boolean;
  /**
   * Set when the header declares dimensions no real image has ({@link MAX_IMAGE_SIDE}, {@link MAX_IMAGE_PIXELS}):
   * why. Such an image is reported (`images/bad-dimensions`), never counted ok.
   */
  readonly badDimensions?: string;
  /** For `unknown`: what the bytes look like instead (`empty file`, `text`, `HTML`…); for truncation: why. */
  readonly note?: string;
}

/** Options of {@link sniffImage} when only the head of a file was read. */
export interface SniffOptions {
  /** The last bytes of the file (e.g. 4 KiB). Default: the end of `head`, i.e. `head` is the whole file. */
  readonly tail?: Uint8Array;
  /** The file's full size in bytes. Default: `head.length` (head is the whole file). */
  readonly size?: number;
}

/** The largest width or height {@link sniffImage} accepts: 65535, the most a JPEG, GIF or WEBP can hold. */
export const MAX_IMAGE_SIDE = 65535;
/** The most pixels {@link sniffImage} accepts: above it Pillow raises `DecompressionBombError` (2 × its warning limit). */
export const MAX_IMAGE_PIXELS = 178_956_970;

/**
 * Why `width`×`height` is no real image's size (0 on a side, a side over {@link MAX_IMAGE_SIDE}, more pixels than
 * {@link MAX_IMAGE_PIXELS}), or undefined when it is plausible.
 */
export function implausibleDimensions(width: number, height: number): string | undefined {
  if (width <= 0 || height <= 0) return 'an image has at least one pixel on each side';
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) return `more than ${MAX_IMAGE_SIDE} pixels on a side`;
  if (width * height > MAX_IMAGE_PIXELS) {
    return `more than ${MAX_IMAGE_PIXELS} pixels, which Pillow refuses as a decompression bomb`;
  }
  return undefined;
}

/** How many bytes of a file's head {@link sniffImage} wants to see dimensions behind large EXIF blocks. */
export const SNIFF_HEAD_BYTES = 64 * 1024;
/** How many bytes of a file's tail are enough for the truncation checks. */
export const SNIFF_TAIL_BYTES = 4 * 1024;

/**
 * Recognise an image from its bytes: the format from the magic bytes, the dimensions from the header (JPEG SOF
 * marker, PNG IHDR, GIF logical screen, WEBP VP8/VP8L/VP8X, BMP info header) and whether the file is truncated
 * (JPEG without end-of-image marker `FF D9`, PNG without `IEND`, GIF without trailer `3B`, WEBP/BMP shorter than
 * their header says). Only headers are parsed; no pixel data is decoded.
 *
 * Dimensions no real image has (0×0, 2³¹×2³¹, see {@link implausibleDimensions}) are flagged in `badDimensions`.
 *
 * Pass the whole file, or only its head plus `{ tail, size }` to avoid reading large files entirely.
 *
 * @example
 * ```ts
 * sniffImage(await readFile('cat.jpg')); // { format: 'jpeg', width: 640, height: 480, truncated: false }
 * ```
 */
export function sniffImage(head: Uint8Array, options: SniffOptions = {}): ImageInfo {
  const size = options.size ?? head.length;
  const whole = options.tail === undefined || size <= head.length;
  const tail = whole ? head.subarray(0, size) : options.tail!;
  if (size === 0) return { format: 'unknown', truncated: false, note: 'empty file (0 bytes)' };
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return sniffJpeg(head, tail, whole);
  if (startsWith(head, PNG_SIGNATURE)) return sniffPng(head, tail);
  if (startsWith(head, GIF87) || startsWith(head, GIF89)) return sniffGif(head, tail);
  if (startsWith(head, RIFF) && startsWith(head, WEBP, 8)) return sniffWebp(head, size);
  if (head[0] === 0x42 && head[1] === 0x4d && head.length >= 26) return sniffBmp(head, size);
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { format: 'tiff', truncated: false };
  }
  return { format: 'unknown', truncated: false, note: describeNonImage(head) };
}

/** The image format an extension promises (`.jpg` → `jpeg`), or undefined for extensions without a known format. */
export function formatOfExtension(path: string): Exclude<ImageFormat, 'unknown'> | undefined {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || dot < path.lastIndexOf('/')) return undefined;
  return EXTENSIONS[path.slice(dot + 1).toLowerCase()];
}

/**
 * The usual file extension (without the dot) of an image format (`jpeg` → `jpg`): what to name a file whose bytes
 * were sniffed. Undefined for `unknown`.
 */
export function extensionOfFormat(format: ImageFormat): string | undefined {
  return format === 'unknown' ? undefined : EXTENSION_OF_FORMAT[format];
}

const EXTENSION_OF_FORMAT: Record<Exclude<ImageFormat, 'unknown'>, string> = {
  jpeg: 'jpg',
  png: 'png',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  tiff: 'tif',
};

const EXTENSIONS: Record<string, Exclude<ImageFormat, 'unknown'>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  jfif: 'jpeg',
  png: 'png',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  dib: 'bmp',
  tif: 'tiff',
  tiff: 'tiff',
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const GIF87 = [0x47, 0x49, 0x46, 0x38, 0x37, 0x61];
const GIF89 = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61];
const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];
const IEND = [0x49, 0x45, 0x4e, 0x44];

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
}

const u16be = (b: Uint8Array, i: number) => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u16le = (b: Uint8Array, i: number) => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, i: number) => u16le(b, i) | ((b[i + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, i: number) => u16be(b, i) * 0x10000 + u16be(b, i + 2);
const u32le = (b: Uint8Array, i: number) => u16le(b, i) + u16le(b, i + 2) * 0x10000;

function sniffJpeg(head: Uint8Array, tail: Uint8Array, whole: boolean): ImageInfo {
  let width: number | undefined;
  let height: number | undefined;
  let sos = -1;
  let i = 2;
  while (i + 1 < head.length) {
    if (head[i] !== 0xff) break; // lost sync: stop parsing headers
    const marker = head[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) break;
    if (i + 3 >= head.length) break;
    const length = u16be(head, i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && width === undefined && i + 8 < head.length) {
      height = u16be(head, i + 5);
      width = u16be(head, i + 7);
    }
    if (marker === 0xda) {
      sos = i;
      break;
    }
    i += 2 + length;
  }
  // The end-of-image marker must be present; bytes after it (camera trailers, padding) are tolerated.
  let eoi = -1;
  for (let j = tail.length - 2; j >= 0; j--) {
    if (tail[j] === 0xff && tail[j + 1] === 0xd9) {
      eoi = j;
      break;
    }
  }
  let truncated = eoi < 0;
  let note: string | undefined = truncated ? 'no end-of-image marker (FF D9)' : undefined;
  if (whole && sos < 0) {
    truncated = true;
    note = 'no image data (start-of-scan marker missing)';
  } else if (whole && eoi >= 0 && eoi < sos) {
    truncated = true;
    note = 'no end-of-image marker after the image data';
  }
  return dims('jpeg', width, height, truncated, note);
}

function sniffPng(head: Uint8Array, tail: Uint8Array): ImageInfo {
  const hasIhdr = startsWith(head, [0x49, 0x48, 0x44, 0x52], 12);
  const width = hasIhdr && head.length >= 24 ? u32be(head, 16) : undefined;
  const height = hasIhdr && head.length >= 24 ? u32be(head, 20) : undefined;
  let iend = -1;
  for (let j = tail.length - 4; j >= 0; j--) {
    if (startsWith(tail, IEND, j)) {
      iend = j;
      break;
    }
  }
  const truncated = iend < 0 || iend + 8 > tail.length;
  return dims('png', width, height, truncated, truncated ? 'no IEND chunk at the end' : undefined);
}

function sniffGif(head: Uint8Array, tail: Uint8Array): ImageInfo {
  const width = head.length >= 10 ? u16le(head, 6) : undefined;
  const height = head.length >= 10 ? u16le(head, 8) : undefined;
  let end = tail.length - 1;
  while (end >= 0 && tail[end] === 0x00) end--;
  const truncated = end < 0 || tail[end] !== 0x3b;
  return dims('gif', width, height, truncated, truncated ? 'no GIF trailer (3B) at the end' : undefined);
}

function sniffWebp(head: Uint8Array, size: number): ImageInfo {
  const declared = u32le(head, 4) + 8;
  const truncated = size < declared;
  const note = truncated ? `file has ${size} bytes, its RIFF header says ${declared}` : undefined;
  const chunk = String.fromCharCode(head[12] ?? 0, head[13] ?? 0, head[14] ?? 0, head[15] ?? 0);
  if (chunk === 'VP8X' && head.length >= 30) {
    return dims('webp', u24le(head, 24) + 1, u24le(head, 27) + 1, truncated, note);
  }
  if (chunk === 'VP8L' && head.length >= 25 && head[20] === 0x2f) {
    const bits = u32le(head, 21);
    return dims('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, truncated, note);
  }
  if (chunk === 'VP8 ' && head.length >= 30 && head[23] === 0x9d && head[24] === 0x01 && head[25] === 0x2a) {
    return dims('webp', u16le(head, 26) & 0x3fff, u16le(head, 28) & 0x3fff, truncated, note);
  }
  return dims('webp', undefined, undefined, truncated, note);
}

function sniffBmp(head: Uint8Array, size: number): ImageInfo {
  const declared = u32le(head, 2);
  const headerSize = u32le(head, 14);
  let width: number | undefined;
  let height: number | undefined;
  if (headerSize === 12) {
    width = u16le(head, 18);
    height = u16le(head, 20);
  } else if (headerSize >= 40) {
    width = Math.abs(u32le(head, 18) | 0);
    height = Math.abs(u32le(head, 22) | 0);
  } else {
    return { format: 'unknown', truncated: false, note: 'starts with "BM" but has no valid bitmap header' };
  }
  const truncated = declared > 0 && size < declared;
  return dims(
    'bmp',
    width,
    height,
    truncated,
    truncated ? `file has ${size} bytes, its header says ${declared}` : undefined,
  );
}

function dims(
  format: ImageFormat,
  width: number | undefined,
  height: number | undefined,
  truncated: boolean,
  note: string | undefined,
): ImageInfo {
  const info: { -readonly [K in keyof ImageInfo]: ImageInfo[K] } = { format, truncated };
  if (width !== undefined) info.width = width;
  if (height !== undefined) info.height = height;
  if (note !== undefined) info.note = note;
  if (width !== undefined && height !== undefined) {
    const bad = implausibleDimensions(width, height);
    if (bad !== undefined) info.badDimensions = bad;
  } else if (width === 0 || height === 0) info.badDimensions = 'an image has at least one pixel on each side';
  return info;
}

function describeNonImage(head: Uint8Array): string {
  const sample = head.subarray(0, 512);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(sample).trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'an HTML page';
  if (text.startsWith('<?xml') || text.startsWith('<svg')) return 'XML/SVG text (not a raster image)';
  if (startsWith(head, [0x00, 0x00, 0x00]) && startsWith(head, [0x66, 0x74, 0x79, 0x70], 4)) {
    return 'an ISO media file (HEIC/AVIF/MP4), not supported';
  }
  let printable = 0;
  for (const b of sample) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0) printable++;
  if (sample.length > 0 && printable / sample.length > 0.95) return 'text';
  return 'unrecognised binary data';
}
