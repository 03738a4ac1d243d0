import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Diagnostic, Severity } from '@llavakit/diagnostics';
import type { ParquetFile } from '@llavakit/format-parquet';
import { buildIndex } from './build.js';
import { buildIndexInWorker } from './build-thread.js';
import { applyTokens, countAllTokens } from './counting.js';
import { decodeSafely, type RecordDecoder } from './decode.js';
import { isLlamaMetrics, type RecordMetrics } from './metrics.js';
import {
  clamp32,
  type DatasetFile,
  type IndexOptions,
  type IndexParts,
  NO_TOKENS,
  OTHER_BIT,
  type RuleCount,
  SEVERITY_RANK,
} from './model.js';
import { type ParquetRecord, ParquetRecords } from './parquet.js';
import { type ReadPlace, RecordsThread } from './records-thread.js';

export { DECODE_FAILED, decodeSafely, type RecordDecoder } from './decode.js';
export type { DatasetFile, IndexOptions, IndexProgress, RuleCount } from './model.js';
export { NO_TOKENS };

/**
 * The index of a dataset: where each record is in its file (byte offset and length; Parquet: row group and row) and a
 * compact summary per record (source, turns, images, text tokens, rule bits, worst severity, the record whose id it
 * repeats), in typed arrays — about 30 bytes per record. Records are read back with positional reads; nothing of the
 * files is kept in memory but a few decoded Parquet row groups (see {@link ParquetRecords}).
 */
export class DatasetIndex {
  /** Number of records over every file. */
  readonly count: number;
  /**
   * Global record number → file number, byte offset, byte length, index in its file. For a Parquet file the offset
   * column holds the row group and the length column the row in that group.
   */
  fileOf: Uint16Array;
  offsets: Float64Array;
  lengths: Uint32Array;
  localIndex: Uint32Array;
  /** Summary columns. */
  sourceCode: Uint16Array;
  turns: Uint16Array;
  images: Uint8Array;
  /** Text tokens per record; `0xffffffff` until counted. */
  tokens: Uint32Array;
  /** Bit k: the record has a diagnostic of `rules[k]`. */
  ruleMask: Uint32Array;
  /** 0 none, 1 info, 2 warning, 3 error. */
  worst: Uint8Array;
  /**
   * 1 + the number of the earlier record whose id record `n` repeats (`id/duplicate`), 0 for none: the diagnostic
   * itself is replayed by the validator when the record is opened, not kept.
   */
  duplicateOf: Uint32Array;
  /** Source labels by code. */
  readonly sources: string[] = [];
  /** Rules by bit (the first 31 rule ids seen; later ones share bit 31). */
  readonly rules: string[] = [];
  readonly files: DatasetFile[] = [];
  /** Diagnostics about whole files (file-level rules, a truncated file, unusable image sources). */
  readonly fileDiagnostics: Diagnostic[] = [];
  /**
   * Record number → diagnostics that the record alone does not reproduce and that are not replayed (broken JSON,
   * rows that are not records, a decode that failed).
   */
  readonly kept = new Map<number, Diagnostic[]>();
  /** Records per rule id (also beyond bit 31), and each rule's severity and hint. */
  readonly ruleRecords = new Map<string, { severity: Severity; records: number; hint?: string }>();
  /** Token counting: records counted so far (all when `tokensDone`). */
  tokensCounted = 0;
  tokensDone = false;
  /** True when the image audit ran (image sources were given). */
  readonly imagesChecked: boolean;
  /** The decode of a record-level format the JSON inputs are read with (see {@link IndexOptions.decode}). */
  decode: RecordDecoder | undefined;
  /** Parquet row groups larger than this are read in slices of pages (see {@link IndexOptions.parquetSliceBytes}). */
  readonly parquetSliceBytes: number | undefined;
  private readonly handles: FileHandle[] = [];
  private readonly parquet: ParquetRecords;
  private readonly thread: RecordsThread;

  private constructor(parts: IndexParts) {
    this.count = parts.count;
    this.parquet = new ParquetRecords((file) => this.files[file]!.path, undefined, parts.parquetSliceBytes);
    this.parquetSliceBytes = parts.parquetSliceBytes;
    this.imagesChecked = parts.imagesChecked;
    this.thread = new RecordsThread(
      {
        files: parts.files,
        ...(parts.parquetSliceBytes !== undefined ? { parquetSliceBytes: parts.parquetSliceBytes } : {}),
      },
      (reads) => Promise.all(reads.map(([f, g, row, i]) => this.parquet.read(f, g, row, i))),
    );
    this.decode = parts.decode;
    this.fileOf = parts.fileOf;
    this.offsets = parts.offsets;
    this.lengths = parts.lengths;
    this.localIndex = parts.localIndex;
    this.sourceCode = parts.sourceCode;
    this.turns = parts.turns;
    this.images = parts.images;
    this.ruleMask = parts.ruleMask;
    this.worst = parts.worst;
    this.duplicateOf = parts.duplicateOf;
    this.tokens = new Uint32Array(parts.count).fill(NO_TOKENS);
    this.sources.push(...parts.sources);
    this.rules.push(...parts.rules);
    this.files.push(...parts.files);
    this.fileDiagnostics.push(...parts.fileDiagnostics);
    for (const [k, v] of parts.kept) this.kept.set(k, v);
    for (const [k, v] of parts.ruleRecords) this.ruleRecords.set(k, v);
  }

  /** The rules a record has, by its mask (rules beyond bit 31 are named from the kept diagnostics when known). */
  rulesOf(n: number): string[] {
    const mask = this.ruleMask[n]!;
    const out: string[] = [];
    for (let k = 0; k < this.rules.length; k++) if (mask & (1 << k)) out.push(this.rules[k]!);
    if (mask & (1 << OTHER_BIT)) out.push('(other)');
    return out;
  }

  /** Where a global record number is. */
  placeOf(n: number): { file: DatasetFile; index: number; offset: number; length: number } {
    return {
      file: this.files[this.fileOf[n]!]!,
      index: this.localIndex[n]!,
      offset: this.offsets[n]!,
      length: this.lengths[n]!,
    };
  }

  /** True when record `n` comes from a Parquet file. */
  isParquet(n: number): boolean {
    return this.files[this.fileOf[n]!]?.format === 'parquet';
  }

  /**
   * A record of a Parquet file: its canonical record (as JSON text) and embedded images, read in the records thread
   * through its cache of decoded row groups (see {@link readParquetRecords}).
   */
  async readParquet(n: number): Promise<ParquetRecord> {
    return (await this.readParquetRecords([n]))[0]!;
  }

  /**
   * Records of Parquet files, in order, in one request to the records thread (see {@link RecordsThread};
   * in this thread when it cannot run or has failed).
   */
  async readParquetRecords(numbers: ArrayLike<number>): Promise<ParquetRecord[]> {
    const reads: ReadPlace[] = [];
    for (let k = 0; k < numbers.length; k++) {
      const n = numbers[k]!;
      if (!Number.isInteger(n) || n < 0 || n >= this.count) throw new RangeError(`no record ${n}`);
      const file = this.files[this.fileOf[n]!]!;
      if (file.format !== 'parquet') throw new TypeError(`record ${n} is not in a Parquet file`);
      reads.push([this.fileOf[n]!, this.offsets[n]!, this.lengths[n]!, (file.inputIndex ?? 0) + this.localIndex[n]!]);
    }
    return this.thread.read(reads);
  }

  /**
   * The JSON text of a record: as it is in the file (one positional read), or for Parquet the canonical record's
   * JSON.
   */
  async readText(n: number): Promise<string> {
    if (!Number.isInteger(n) || n < 0 || n >= this.count) throw new RangeError(`no record ${n}`);
    if (this.isParquet(n)) return (await this.readParquet(n)).text;
    const handle = await this.handle(this.fileOf[n]!);
    const length = this.lengths[n]!;
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, this.offsets[n]! + done);
      if (bytesRead === 0) throw new Error(`${this.files[this.fileOf[n]!]!.path} changed since it was indexed`);
      done += bytesRead;
    }
    return buffer.toString('utf8');
  }

  /**
   * The raw JSON texts of some records, reading runs of records that lie close together in one file with one read
   * (a page of the table is usually one read).
   */
  async readTexts(numbers: ArrayLike<number>): Promise<string[]> {
    const out: string[] = new Array(numbers.length);
    let k = 0;
    while (k < numbers.length) {
      const n = numbers[k]!;
      if (!Number.isInteger(n) || n < 0 || n >= this.count) throw new RangeError(`no record ${n}`);
      const file = this.fileOf[n]!;
      if (this.files[file]!.format === 'parquet') {
        // a run of Parquet records (a page of the table) in one read
        let last = k;
        while (last + 1 < numbers.length && this.isParquet(numbers[last + 1]!)) last++;
        const run = Array.prototype.slice.call(numbers, k, last + 1) as number[];
        for (const one of await this.readParquetRecords(run)) out[k++] = one.text;
        continue;
      }
      const start = this.offsets[n]!;
      let end = start + this.lengths[n]!;
      let last = k;
      while (last + 1 < numbers.length) {
        const m = numbers[last + 1]!;
        if (m < 0 || m >= this.count || this.fileOf[m] !== file) break;
        const mStart = this.offsets[m]!;
        const mEnd = mStart + this.lengths[m]!;
        if (mStart < end || mStart - end > 65536 || mEnd - start > 16 * 1024 * 1024) break;
        end = mEnd;
        last++;
      }
      const bytes = await this.readRange(file, start, end - start);
      for (let j = k; j <= last; j++) {
        const m = numbers[j]!;
        const at = this.offsets[m]! - start;
        out[j] = bytes.toString('utf8', at, at + this.lengths[m]!);
      }
      k = last + 1;
    }
    return out;
  }

  /**
   * Read a byte range of one file (for scans over many records: one read per window instead of one per record).
   * Returns fewer bytes at the end of the file.
   */
  async readRange(fileNo: number, offset: number, length: number): Promise<Buffer> {
    const handle = await this.handle(fileNo);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  }

  private async handle(fileNo: number): Promise<FileHandle> {
    let h = this.handles[fileNo];
    if (!h) {
      h = await open(this.files[fileNo]!.path, 'r');
      this.handles[fileNo] = h;
    }
    return h;
  }

  /** Close the files. */
  async close(): Promise<void> {
    this.parquet.clear();
    await this.thread.close();
    const handles = this.handles.splice(0);
    await Promise.all(handles.map((h) => h?.close()));
  }

  /**
   * Count the text tokens of every record in the background: the files are streamed again, in batches, yielding to
   * the event loop between batches so that page requests stay fast. Rows shown before are counted on demand.
   */
  countTokens(metrics: RecordMetrics, signal?: AbortSignal, busy?: () => boolean): Promise<void> {
    return countAllTokens(this, metrics, signal, busy);
  }

  /**
   * Count every record's tokens (the default metrics) in the records thread, putting them in {@link tokens} as they
   * come; false when that thread cannot run or failed (see {@link RecordsThread.count}).
   */
  countTokensInThread(busy?: () => boolean, signal?: AbortSignal): Promise<boolean> {
    return this.thread.count((from, counts) => applyTokens(this, { from, counts }), busy, signal);
  }

  /** A Parquet file of the dataset, opened once (its footer kept compact; see {@link ParquetRecords}). */
  parquetFile(file: number): Promise<ParquetFile> {
    return this.parquet.file(file);
  }

  /**
   * The record a parsed JSON value stands for: the value itself, or with a record-level format its decoded record
   * (`undefined` when it does not decode).
   */
  valueOf(value: unknown, index: number, file: string): unknown {
    if (!this.decode) return value;
    const decoded = decodeSafely(this.decode, value, index, file);
    return decoded.ok ? decoded.record : undefined;
  }

  /**
   * Count the tokens of records about to be shown that the background count has not reached, from their JSON texts
   * (as {@link readTexts} gives them): with the default metrics in the records thread, whose counter is warm (see
   * {@link RecordsThread.tokensOf}); otherwise nothing is done here and {@link tokensOf} counts them.
   */
  async countShown(numbers: ArrayLike<number>, texts: readonly string[], metrics: RecordMetrics): Promise<void> {
    if (!isLlamaMetrics(metrics) || this.decode !== undefined || !this.thread.usable) return;
    const todo: number[] = [];
    const todoTexts: string[] = [];
    for (let k = 0; k < numbers.length; k++) {
      if (this.tokens[numbers[k]!] === NO_TOKENS && texts[k] !== undefined) {
        todo.push(numbers[k]!);
        todoTexts.push(texts[k]!);
      }
    }
    if (todo.length === 0) return;
    const counts = await this.thread.tokensOf(todoTexts);
    if (!counts) return;
    for (let k = 0; k < todo.length; k++) if (this.tokens[todo[k]!] === NO_TOKENS) this.tokens[todo[k]!] = counts[k]!;
  }

  /** The tokens of a record, counting them now when the background pass has not reached it yet. */
  tokensOf(n: number, value: unknown, metrics: RecordMetrics): number {
    let t = this.tokens[n]!;
    if (t === NO_TOKENS) {
      t = clamp32(metrics.tokens(value));
      this.tokens[n] = t;
    }
    return t;
  }

  /**
   * Stream every input once and build the index: offsets, summary columns, and the diagnostics of the validator
   * (`@llavakit/schema`) and, with a resolver, of the image audit (`@llavakit/images`). A file that stops being
   * readable part-way (truncated, not JSON) keeps the records read before it, and its diagnostic is kept in
   * {@link DatasetIndex.fileDiagnostics}.
   */
  static async build(paths: readonly string[], options: IndexOptions): Promise<DatasetIndex> {
    // in a worker thread with a bounded heap when the options can cross a thread, else (or if it fails) here
    return new DatasetIndex((await buildIndexInWorker(paths, options)) ?? (await buildIndex(paths, options)));
  }

  /** Rules seen, with the records that have them, most records first. */
  ruleCounts(): RuleCount[] {
    return [...this.ruleRecords]
      .map(([ruleId, v]) => ({ ruleId, ...v }))
      .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.records - a.records);
  }
}
