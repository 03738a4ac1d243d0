// The cheap per-record summary, apart from the tokenizer (`metrics.ts`): the index build's worker thread imports
// this module and not the LLaMA vocabulary.

/** The summary of one record the table, the filters and the stats panel use. */
export interface RecordSummary {
  /** `data_source`, else the first folder of the first image, `(bare)` for a bare file name, else `text-only`. */
  readonly source: string;
  /** Number of turns (`conversations` items); 0 when the record has none. */
  readonly turns: number;
  /** Number of image paths. */
  readonly images: number;
}

/** The image paths of a value that may not be a valid record. */
export function imagePaths(value: Record<string, unknown>): string[] {
  const image = value.image;
  if (typeof image === 'string') return [image];
  if (Array.isArray(image)) return image.filter((p): p is string => typeof p === 'string');
  return [];
}

/** The source label of a record (see {@link RecordSummary.source}). */
export function sourceOf(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'text-only';
  const record = value as Record<string, unknown>;
  const declared = record.data_source;
  if (typeof declared === 'string' && declared.trim() !== '') return declared.trim();
  const first = imagePaths(record)[0];
  if (first === undefined) return 'text-only';
  const clean = first.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const slash = clean.indexOf('/');
  return slash > 0 ? clean.slice(0, slash) : '(bare)';
}

/**
 * The summary of the default metrics ({@link createDefaultMetrics}): turns, images and source from the record. The
 * index is built in a worker thread when the metrics summarize with this function (see `build-thread.ts`).
 */
export function summarizeRecord(value: unknown): RecordSummary {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { source: 'text-only', turns: 0, images: 0 };
  }
  const record = value as Record<string, unknown>;
  const turns = Array.isArray(record.conversations) ? record.conversations.length : 0;
  return { source: sourceOf(record), turns, images: imagePaths(record).length };
}
