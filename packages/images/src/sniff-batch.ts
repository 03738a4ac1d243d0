/**
 * Reading and sniffing many files in one go, with compact results: the work a sniff worker thread does (see
 * `sniff-pool.ts`), also callable in-thread. Internal; not exported from the package index.
 */
import { openFlags } from './folder.js';
import { readFileHeadTailSync } from './headtail.js';
import { type ImageFormat, type ImageInfo, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, sniffImage } from './sniff.js';

/** Format codes of {@link SniffBatch.values}. */
const FORMATS: readonly ImageFormat[] = ['unknown', 'jpeg', 'png', 'gif', 'webp', 'bmp', 'tiff'];
const CODE = new Map<ImageFormat, number>(FORMATS.map((f, i) => [f, i]));
/** Numbers per file in {@link SniffBatch.values}: format code (-1: unreadable), width, height (NaN: unknown), truncated. */
const FIELDS = 4;

/** The verdicts for a batch of files: four numbers per file, plus the few notes and read errors by file index. */
export interface SniffBatch {
  readonly values: Float64Array;
  /** `[index, note]` for files whose {@link ImageInfo.note} is set (non-images, truncated files). */
  readonly notes: [number, string][];
  /** `[index, why]` for files that could not be read (`why`: the error code, or its message). */
  readonly errors: [number, string][];
}

/** Read head and tail of each file (never following a symlink) and sniff it. */
export function sniffFiles(paths: readonly string[], buffer = new Uint8Array(SNIFF_HEAD_BYTES)): SniffBatch {
  const values = new Float64Array(paths.length * FIELDS);
  const notes: [number, string][] = [];
  const errors: [number, string][] = [];
  const flags = openFlags(false);
  for (let i = 0; i < paths.length; i++) {
    const at = i * FIELDS;
    let info: ImageInfo;
    try {
      const { head, tail, size } = readFileHeadTailSync(paths[i]!, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, flags);
      info = sniffImage(head, { tail, size });
    } catch (error) {
      values[at] = -1;
      errors.push([i, errorWhy(error)]);
      continue;
    }
    values[at] = CODE.get(info.format) ?? 0;
    values[at + 1] = info.width ?? Number.NaN;
    values[at + 2] = info.height ?? Number.NaN;
    values[at + 3] = info.truncated ? 1 : 0;
    if (info.note !== undefined) notes.push([i, info.note]);
  }
  return { values, notes, errors };
}

/** Decode the verdict of file `index` of a batch: its {@link ImageInfo}, or the reason it could not be read. */
export function sniffResultAt(
  batch: SniffBatch,
  index: number,
): { readonly info: ImageInfo } | { readonly error: string } {
  const at = index * FIELDS;
  const code = batch.values[at]!;
  if (code < 0) return { error: findAt(batch.errors, index) ?? 'unknown error' };
  const info: { -readonly [K in keyof ImageInfo]: ImageInfo[K] } = {
    format: FORMATS[code] ?? 'unknown',
    truncated: batch.values[at + 3] === 1,
  };
  const width = batch.values[at + 1]!;
  const height = batch.values[at + 2]!;
  if (!Number.isNaN(width)) info.width = width;
  if (!Number.isNaN(height)) info.height = height;
  const note = batch.notes.length > 0 ? findAt(batch.notes, index) : undefined;
  if (note !== undefined) info.note = note;
  return { info };
}

/** What a read error is called in diagnostics: its code (`EACCES`), else its message. */
export function errorWhy(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error));
}

function findAt(pairs: readonly [number, string][], index: number): string | undefined {
  // Pairs are in index order: binary search.
  let lo = 0;
  let hi = pairs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = pairs[mid]![0];
    if (at === index) return pairs[mid]![1];
    if (at < index) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
