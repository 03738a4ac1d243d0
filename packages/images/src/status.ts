/**
 * The vocabulary of the image check, defined once: the verdict statuses, the counts kept per status, and the report
 * shapes built from them. Every other module of the check imports these (and none imports the checker for them).
 */
import type { ImageFormat } from './sniff.js';

/** Every verdict for one distinct image path, in the order of the report's columns. */
export const IMAGE_STATUSES = [
  'ok',
  'missing',
  'refused',
  'unreadable',
  'not-image',
  'truncated',
  'format-mismatch',
] as const;

/** The verdict for one distinct image path. */
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

/** The count field of each status (`not-image` → `notImage`). */
export const COUNT_KEY = {
  ok: 'ok',
  missing: 'missing',
  refused: 'refused',
  unreadable: 'unreadable',
  'not-image': 'notImage',
  truncated: 'truncated',
  'format-mismatch': 'formatMismatch',
} as const satisfies Record<ImageStatus, string>;

/** Counts of references by verdict (a record referencing a missing image counts once per reference). */
export type ImageCounts = { references: number } & { [S in ImageStatus as (typeof COUNT_KEY)[S]]: number };

/** Per-prefix statistics: counts, real formats and the dimension range of distinct readable images. */
export interface PrefixReport extends ImageCounts {
  /** Distinct image paths under this prefix. */
  distinct: number;
  /** Distinct images by real format. */
  formats: Partial<Record<ImageFormat, number>>;
  /** Smallest and largest width/height seen (undefined when no dimensions were read). */
  width?: { min: number; max: number };
  height?: { min: number; max: number };
}

/** Counts that all start at zero: references, distinct, then one per status. */
export function zeroCounts(): ImageCounts & { distinct: number } {
  const counts = { references: 0, distinct: 0 } as ImageCounts & { distinct: number };
  for (const status of IMAGE_STATUSES) counts[COUNT_KEY[status]] = 0;
  return counts;
}

/** One distinct image with a problem, for `--list-missing`. */
export interface ImageProblem {
  readonly ref: string;
  readonly status: Exclude<ImageStatus, 'ok'>;
  /** Rule ids raised for this image. */
  readonly ruleIds: readonly string[];
  /** How many references point at it. */
  references: number;
  /** Index of the first record referencing it. */
  readonly firstRecordIndex?: number;
}
