import type { DatasetIndex } from './dataset.js';

/** What one search request found. */
export interface SearchResult {
  readonly matches: number[];
  /** Where to continue (a position in the filtered list), and whether the whole list was scanned. */
  readonly next: number;
  readonly done: boolean;
  readonly scanned: number;
}

const WINDOW = 4 * 1024 * 1024;

/** Parquet records read per request while searching. */
const PARQUET_AHEAD = 128;

/**
 * Case-insensitive text search over the raw JSON of the records of `list` from position `from`, reading the files in
 * windows of 4 MiB (one positional read for many records). Stops at `limit` matches or after `budgetMs`, and says
 * where to go on. A query is also looked for JSON-escaped (`"` as `\"`, a newline as `\n`).
 */
export async function searchRecords(
  index: DatasetIndex,
  list: Uint32Array,
  query: string,
  from: number,
  limit: number,
  budgetMs: number,
): Promise<SearchResult> {
  const plain = query.toLowerCase();
  const escaped = JSON.stringify(query).slice(1, -1).toLowerCase();
  const started = performance.now();
  const matches: number[] = [];
  let window: { file: number; start: number; bytes: Buffer } | undefined;
  let ahead: { at: number; texts: string[] } | undefined;
  let k = from;
  for (; k < list.length; k++) {
    if (matches.length >= limit) break;
    if ((k - from) % 512 === 511 && performance.now() - started > budgetMs) break;
    const n = list[k]!;
    const file = index.fileOf[n]!;
    if (index.files[file]!.format === 'parquet') {
      // Parquet: the canonical records' JSON, the next ones of the list read in one request
      if (!ahead || k < ahead.at || k >= ahead.at + ahead.texts.length) {
        let end = k + 1;
        while (end < list.length && end - k < PARQUET_AHEAD && index.isParquet(list[end]!)) end++;
        ahead = { at: k, texts: await index.readTexts(list.subarray(k, end)) };
      }
      const text = ahead.texts[k - ahead.at]!.toLowerCase();
      if (text.includes(plain) || (escaped !== plain && text.includes(escaped))) matches.push(n);
      continue;
    }
    const offset = index.offsets[n]!;
    const length = index.lengths[n]!;
    if (
      !window ||
      window.file !== file ||
      offset < window.start ||
      offset + length > window.start + window.bytes.length
    ) {
      // a big window when the next records follow closely (a scan), else just this record (a sparse filter)
      const after = list[k + 1];
      const dense =
        after !== undefined && index.fileOf[after] === file && index.offsets[after]! - (offset + length) < 65536;
      window = {
        file,
        start: offset,
        bytes: await index.readRange(file, offset, dense ? Math.max(length, WINDOW) : length),
      };
    }
    const text = window.bytes.toString('utf8', offset - window.start, offset - window.start + length).toLowerCase();
    if (text.includes(plain) || (escaped !== plain && text.includes(escaped))) matches.push(n);
  }
  return { matches, next: k, done: k >= list.length, scanned: k - from };
}
