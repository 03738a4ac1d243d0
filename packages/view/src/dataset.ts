import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { type Diagnostic, DiagnosticError, type Severity } from '@llavakit/diagnostics';
import { openParquetFile, parquetRules } from '@llavakit/format-parquet';
import { createImageChecker, type ImageResolver, imageRefsOfRecord } from '@llavakit/images';
import { detectKind, type ReadItem, readRecordBatches, readRecords, validationKindOf } from '@llavakit/reader';
import { createValidator, type ValidationKind } from '@llavakit/schema';
import type { RecordMetrics } from './metrics.js';
import { isParquetInput, type ParquetRecord, ParquetRecords, parquetFiles, parquetRecordOf } from './parquet.js';

/** Progress of {@link buildDatasetIndex}. */
export interface IndexProgress {
  /** Bytes read so far over every input, and the total. */
  readonly bytes: number;
  readonly totalBytes: number;
  /** Records indexed so far. */
  readonly records: number;
  /** `index` while reading the inputs, `images` while the image audit finishes. */
  readonly phase: 'index' | 'images';
}

/** Options of {@link buildDatasetIndex}. */
export interface IndexOptions {
  readonly metrics: RecordMetrics;
  /** With image sources, the image audit of `@llavakit/images` runs over every reference. */
  readonly resolver?: ImageResolver | undefined;
  /** The validation kind of every file (default: detected per file from its first records, as `llava validate` does). */
  readonly kind?: ValidationKind;
  readonly onProgress?: (progress: IndexProgress) => void;
  readonly signal?: AbortSignal;
  /** Diagnostics that cannot be recomputed from the record alone (duplicate ids, broken JSON) kept, at most. */
  readonly maxKeptDiagnostics?: number;
  /**
   * A record-level format's `decode` for the JSON/JSONL inputs (e.g. a plugin's): every parsed value is decoded into
   * a canonical record when indexed and again when read. A decode that throws or answers something else is caught
   * and shown as the record's diagnostic (`view/decode-failed`).
   */
  readonly decode?: RecordDecoder;
}

/** A record-level `decode`, bound to its format and options: value and its index in its file → canonical record. */
export type RecordDecoder = (
  value: unknown,
  index: number,
  file: string,
) =>
  | { readonly ok: true; readonly record: unknown }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** The rule of a decode that threw or answered something that is not a decode result. */
export const DECODE_FAILED = 'view/decode-failed';

/**
 * Decode one value behind a wall: whatever `decode` does (throws, answers garbage), the result is a record or
 * diagnostics.
 */
export function decodeSafely(
  decode: RecordDecoder,
  value: unknown,
  index: number,
  file: string,
): { ok: true; record: Record<string, unknown> } | { ok: false; diagnostics: readonly Diagnostic[] } {
  const failed = (why: string) => ({
    ok: false as const,
    diagnostics: [
      {
        ruleId: DECODE_FAILED,
        severity: 'error' as const,
        message: `The format's decode failed on record ${index}: ${why}`,
        source: 'view',
        file,
        recordIndex: index,
      },
    ],
  });
  try {
    const out = decode(value, index, file) as unknown;
    const result = (out ?? {}) as { ok?: unknown; record?: unknown; diagnostics?: unknown };
    if (result.ok === true && typeof result.record === 'object' && result.record && !Array.isArray(result.record)) {
      return { ok: true, record: result.record as Record<string, unknown> };
    }
    if (result.ok === false && Array.isArray(result.diagnostics) && result.diagnostics.length > 0) {
      return { ok: false, diagnostics: result.diagnostics as Diagnostic[] };
    }
    return failed('it answered something that is not { ok: true, record } or { ok: false, diagnostics }');
  } catch (error) {
    let why: string;
    try {
      why = error instanceof Error ? error.message : String(error);
    } catch {
      why = 'an unprintable error';
    }
    return failed(why);
  }
}

/** One input file of the dataset. */
export interface DatasetFile {
  /** The path as given. */
  readonly path: string;
  /** Its base name (shown in the page). */
  readonly name: string;
  readonly size: number;
  /** First global record number of the file, and its record count. */
  readonly first: number;
  readonly records: number;
  /** The validation kind its records were checked with. */
  readonly kind: ValidationKind;
  /**
   * `json` (a JSON array or JSONL: records by byte offset) or `parquet` (records by row group and row, each shown as
   * its canonical LLaVA record, images embedded).
   */
  readonly format: 'json' | 'parquet';
  /** Parquet: the number of the file's first row in its input (a folder's files count on). */
  readonly inputIndex?: number;
}

/** A rule seen while indexing, with the number of records that have it. */
export interface RuleCount {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly records: number;
  readonly hint?: string;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3 };
/** Bit 31 of the rule mask means "a rule beyond the first 31". */
const OTHER_BIT = 31;
const NO_TOKENS = 0xffffffff;

/** A growable typed column. */
class Column<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array> {
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const next = this.make(Math.max(1024, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
  trim(n: number): void {
    if (this.data.length !== n) this.data = this.data.slice(0, n) as T;
  }
}

/**
 * The index of a dataset: where each record is in its file (byte offset and length) and a compact summary per record
 * (source, turns, images, text tokens, rule bits, worst severity), in typed arrays — about 26 bytes per record. Records
 * are read back with positional reads; nothing of the files is kept in memory.
 */
export class DatasetIndex {
  /**
   * Global record number → file number, byte offset, byte length, index in its file. For a Parquet file the offset
   * column holds the row group and the length column the row in that group.
   */
  fileOf: Uint16Array = new Uint16Array(0);
  offsets: Float64Array = new Float64Array(0);
  lengths: Uint32Array = new Uint32Array(0);
  localIndex: Uint32Array = new Uint32Array(0);
  /** Summary columns. */
  sourceCode: Uint16Array = new Uint16Array(0);
  turns: Uint16Array = new Uint16Array(0);
  images: Uint8Array = new Uint8Array(0);
  /** Text tokens per record; `0xffffffff` until counted. */
  tokens: Uint32Array = new Uint32Array(0);
  /** Bit k: the record has a diagnostic of `rules[k]`. */
  ruleMask: Uint32Array = new Uint32Array(0);
  /** 0 none, 1 info, 2 warning, 3 error. */
  worst: Uint8Array = new Uint8Array(0);
  /** Source labels by code. */
  readonly sources: string[] = [];
  /** Rules by bit (the first 31 rule ids seen; later ones share bit 31). */
  readonly rules: string[] = [];
  readonly files: DatasetFile[] = [];
  /** Diagnostics about whole files (file-level rules, a truncated file, unusable image sources). */
  readonly fileDiagnostics: Diagnostic[] = [];
  /** Record number → diagnostics that the record alone does not reproduce (duplicate ids, broken JSON). */
  readonly kept = new Map<number, Diagnostic[]>();
  /** Records per rule id (also beyond bit 31), and each rule's severity and hint. */
  readonly ruleRecords = new Map<string, { severity: Severity; records: number; hint?: string }>();
  /** Token counting: records counted so far (all when `tokensDone`). */
  tokensCounted = 0;
  tokensDone = false;
  readonly imagesChecked: boolean;
  /** The decode of a record-level format the JSON inputs are read with (see {@link IndexOptions.decode}). */
  decode: RecordDecoder | undefined;
  private readonly handles: FileHandle[] = [];
  private readonly parquet = new ParquetRecords((file) => this.files[file]!.path);
  private readonly sourceCodes = new Map<string, number>();

  private constructor(
    /** Number of records over every file. */
    readonly count: number,
    /** True when the image audit ran (image sources were given). */
    imagesChecked: boolean,
  ) {
    this.imagesChecked = imagesChecked;
    this.decode = undefined;
  }

  /** The code of a source label. */
  codeOfSource(label: string): number {
    let code = this.sourceCodes.get(label);
    if (code === undefined) {
      code = this.sources.length;
      this.sources.push(label);
      this.sourceCodes.set(label, code);
    }
    return code;
  }

  /** The bit of a rule (rules beyond the 31st share bit 31). */
  bitOfRule(ruleId: string): number {
    const at = this.rules.indexOf(ruleId);
    if (at >= 0) return at;
    if (this.rules.length < OTHER_BIT) {
      this.rules.push(ruleId);
      return this.rules.length - 1;
    }
    return OTHER_BIT;
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
   * A record of a Parquet file: its canonical record (as JSON text) and embedded images, read through a cache of one
   * row group.
   */
  async readParquet(n: number): Promise<ParquetRecord> {
    if (!Number.isInteger(n) || n < 0 || n >= this.count) throw new RangeError(`no record ${n}`);
    const file = this.files[this.fileOf[n]!]!;
    if (file.format !== 'parquet') throw new TypeError(`record ${n} is not in a Parquet file`);
    return this.parquet.read(
      this.fileOf[n]!,
      this.offsets[n]!,
      this.lengths[n]!,
      (file.inputIndex ?? 0) + this.localIndex[n]!,
    );
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
        out[k++] = (await this.readParquet(n)).text;
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
    const handles = this.handles.splice(0);
    await Promise.all(handles.map((h) => h?.close()));
  }

  /**
   * Count the text tokens of every record in the background: the files are streamed again, in batches, yielding to
   * the event loop between batches so that page requests stay fast. Rows shown before are counted on demand.
   */
  async countTokens(metrics: RecordMetrics, signal?: AbortSignal, busy?: () => boolean): Promise<void> {
    let n = 0;
    for (const [f, file] of this.files.entries()) {
      if (file.format === 'parquet') {
        const done = await this.countParquetTokens(f, metrics, signal, busy);
        if (!done) return;
        n = file.first + file.records;
        this.tokensCounted = n;
        continue;
      }
      const batches = readRecordBatches(file.path, { file: file.name, signal, chunkSize: 64 * 1024 });
      try {
        for await (const batch of batches) {
          if (signal?.aborted) return;
          for (const item of batch) {
            const at = file.first + item.place.index;
            if (at >= this.count) break;
            if (this.tokens[at] === NO_TOKENS) {
              const value = item.ok ? this.valueOf(item.value, item.place.index, file.name) : undefined;
              this.tokens[at] = value !== undefined ? clamp32(metrics.tokens(value)) : 0;
            }
            n = at + 1;
          }
          this.tokensCounted = n;
          await turn(); // page requests get the event loop between batches…
          // …and while one is being answered, counting waits (a request awaits many reads; each would let a batch in)
          while (busy?.() && !signal?.aborted) await sleep(2);
        }
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error; // the index build reported it already
      }
    }
    this.tokensCounted = this.count;
    this.tokensDone = true;
  }

  /** {@link countTokens} over one Parquet file, one row group at a time; false when aborted. */
  private async countParquetTokens(
    f: number,
    metrics: RecordMetrics,
    signal?: AbortSignal,
    busy?: () => boolean,
  ): Promise<boolean> {
    const file = this.files[f]!;
    let parquet: Awaited<ReturnType<ParquetRecords['file']>>;
    try {
      parquet = await this.parquet.file(f);
    } catch (error) {
      if (DiagnosticError.is(error)) return true; // the index build reported it already
      throw error;
    }
    let at = file.first;
    for (let g = 0; g < parquet.groups.length && at < file.first + file.records; g++) {
      if (signal?.aborted) return false;
      let rows: Record<string, unknown>[];
      try {
        rows = await parquet.readGroup(g);
      } catch (error) {
        if (DiagnosticError.is(error)) return true;
        throw error;
      }
      for (const row of rows) {
        if (at >= file.first + file.records) break;
        if (this.tokens[at] === NO_TOKENS) {
          const one = parquetRecordOf(parquet, row, (file.inputIndex ?? 0) + at - file.first);
          this.tokens[at] = one.record ? clamp32(metrics.tokens(one.record)) : 0;
        }
        at++;
        if ((at & 255) === 0) {
          this.tokensCounted = at;
          await turn();
          while (busy?.() && !signal?.aborted) await sleep(2);
        }
      }
      this.tokensCounted = at;
      await turn();
      while (busy?.() && !signal?.aborted) await sleep(2);
    }
    return true;
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
    const metrics = options.metrics;
    const maxKept = options.maxKeptDiagnostics ?? 200_000;
    const entries = await expandInputs(paths);
    const sizes = await Promise.all(entries.map(async (e) => (await stat(e.path)).size));
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const cols = {
      fileOf: new Column(new Uint16Array(1024), (n) => new Uint16Array(n)),
      offsets: new Column(new Float64Array(1024), (n) => new Float64Array(n)),
      lengths: new Column(new Uint32Array(1024), (n) => new Uint32Array(n)),
      localIndex: new Column(new Uint32Array(1024), (n) => new Uint32Array(n)),
      sourceCode: new Column(new Uint16Array(1024), (n) => new Uint16Array(n)),
      turns: new Column(new Uint16Array(1024), (n) => new Uint16Array(n)),
      images: new Column(new Uint8Array(1024), (n) => new Uint8Array(n)),
      ruleMask: new Column(new Uint32Array(1024), (n) => new Uint32Array(n)),
      worst: new Column(new Uint8Array(1024), (n) => new Uint8Array(n)),
    };
    // the index is built on a scratch instance and its columns moved in at the end
    const index = new DatasetIndex(0, options.resolver !== undefined);
    const checker = options.resolver ? createImageChecker(options.resolver, { checkSources: true }) : undefined;
    let keptCount = 0;
    const note = (n: number, d: Diagnostic, keep: boolean) => {
      const bit = index.bitOfRule(d.ruleId);
      cols.ruleMask.set(n, (cols.ruleMask.data[n]! | (1 << bit)) >>> 0);
      const rank = SEVERITY_RANK[d.severity];
      if (rank > cols.worst.data[n]!) cols.worst.set(n, rank);
      if (keep && keptCount < maxKept) {
        keptCount++;
        const list = index.kept.get(n);
        if (list) list.push(d);
        else index.kept.set(n, [d]);
      }
    };
    // a record's rule counts are counted once per rule per record
    const countRule = (d: Diagnostic, seen: Set<string>) => {
      if (seen.has(d.ruleId)) return;
      seen.add(d.ruleId);
      const entry = index.ruleRecords.get(d.ruleId);
      if (entry) entry.records++;
      else index.ruleRecords.set(d.ruleId, { severity: d.severity, records: 1, ...(d.hint ? { hint: d.hint } : {}) });
    };
    let n = 0;
    let bytesBefore = 0;
    try {
      const inputFirst = new Map<number, number>();
      for (let f = 0; f < entries.length; f++) {
        const { path, format, input } = entries[f]!;
        const name = entries.filter((e) => basename(e.path) === basename(path)).length > 1 ? path : basename(path);
        const first = n;
        if (!inputFirst.has(input)) inputFirst.set(input, n);
        if (format === 'parquet') {
          const inputIndex = n - inputFirst.get(input)!;
          let kind: ValidationKind = options.kind ?? 'llava';
          try {
            const parquet = await openParquetFile(path);
            let validator: ReturnType<typeof createValidator> | undefined;
            let local = 0;
            for (let g = 0; g < parquet.groups.length; g++) {
              options.signal?.throwIfAborted();
              const rows = await parquet.readGroup(g);
              const shown = rows.map((row, i) => parquetRecordOf(parquet, row, inputIndex + local + i));
              if (!validator) {
                // the kind from the first records, as for JSON
                const head: ReadItem[] = shown.slice(0, 20).map((r, i) => {
                  const place = { index: local + i, offset: -1, line: 0, column: 0, length: -1 };
                  return r.record
                    ? { ok: true, value: r.record, place, text: r.text }
                    : {
                        ok: false,
                        diagnostic: { ruleId: parquetRules.invalidRow, severity: 'error', message: '' },
                        place,
                        text: r.text,
                      };
                });
                kind = options.kind ?? validationKindOf(detectKind(head, path));
                validator = createValidator({ file: name, kind });
              }
              for (let i = 0; i < shown.length; i++, local++, n++) {
                const one = shown[i]!;
                cols.fileOf.set(n, f);
                cols.offsets.set(n, g);
                cols.lengths.set(n, i);
                cols.localIndex.set(n, local);
                cols.ruleMask.set(n, 0);
                cols.worst.set(n, 0);
                if (one.record) {
                  const summary = metrics.summarize(one.record);
                  cols.sourceCode.set(n, index.codeOfSource(summary.source));
                  cols.turns.set(n, Math.min(summary.turns, 0xffff));
                  cols.images.set(n, Math.min(summary.images, 0xff));
                  const found = validator.check(one.record, { index: local }, one.text);
                  const seen = new Set<string>();
                  for (const d of found) {
                    note(n, d, d.ruleId.startsWith('id/'));
                    countRule(d, seen);
                  }
                  if (checker) {
                    const item = { ok: true as const, value: one.record, place: { index: local } };
                    for (const ref of imageRefsOfRecord(item, name, n)) {
                      if (one.embedded?.has(ref.ref)) continue; // embedded: nothing to look up
                      const wait = checker.add(ref);
                      if (wait) await wait;
                    }
                  }
                } else {
                  cols.sourceCode.set(n, index.codeOfSource('(invalid row)'));
                  cols.turns.set(n, 0);
                  cols.images.set(n, 0);
                  const d: Diagnostic = {
                    ruleId: parquetRules.invalidRow,
                    severity: 'error',
                    source: 'parquet',
                    file: name,
                    recordIndex: local,
                    hint: 'LLaVA rows need `conversations`: a list of {from, value} with string values.',
                    ...one.invalid,
                    message: `Row ${local} of ${name}: ${one.invalid?.message ?? 'not a LLaVA record'}`,
                  };
                  note(n, d, true);
                  countRule(d, new Set());
                }
              }
              options.onProgress?.({
                bytes: bytesBefore + Math.round((sizes[f]! * (g + 1)) / parquet.groups.length),
                totalBytes,
                records: n,
                phase: 'index',
              });
            }
            if (validator) index.fileDiagnostics.push(...validator.finish());
          } catch (error) {
            if (!DiagnosticError.is(error)) throw error;
            index.fileDiagnostics.push(error.diagnostic);
          }
          index.files.push({ path, name, size: sizes[f]!, first, records: n - first, kind, format, inputIndex });
          bytesBefore += sizes[f]!;
          continue;
        }
        // decoded records are canonical LLaVA records, whatever the file's own shape
        const kind = options.kind ?? (options.decode ? 'llava' : await detectValidationKind(path));
        const validator = createValidator({ file: name, kind });
        try {
          const batches = readRecordBatches(path, {
            file: name,
            signal: options.signal,
            onProgress: (bytes) =>
              options.onProgress?.({ bytes: bytesBefore + bytes, totalBytes, records: n, phase: 'index' }),
          });
          for await (const batch of batches) {
            for (const item of batch) {
              const place = item.place;
              cols.fileOf.set(n, f);
              cols.offsets.set(n, place.offset);
              cols.lengths.set(n, place.length);
              cols.localIndex.set(n, place.index);
              cols.ruleMask.set(n, 0);
              cols.worst.set(n, 0);
              const decoded =
                item.ok && options.decode ? decodeSafely(options.decode, item.value, place.index, name) : undefined;
              if (decoded && !decoded.ok) {
                cols.sourceCode.set(n, index.codeOfSource('(not decoded)'));
                cols.turns.set(n, 0);
                cols.images.set(n, 0);
                const seen = new Set<string>();
                for (const d of decoded.diagnostics) {
                  const placed = withPlace({ ...d, recordIndex: d.recordIndex ?? place.index }, place);
                  note(n, placed, true);
                  countRule(placed, seen);
                }
              } else if (item.ok) {
                const value = decoded?.ok ? decoded.record : item.value;
                const text = decoded?.ok ? undefined : item.text;
                const summary = metrics.summarize(value);
                cols.sourceCode.set(n, index.codeOfSource(summary.source));
                cols.turns.set(n, Math.min(summary.turns, 0xffff));
                cols.images.set(n, Math.min(summary.images, 0xff));
                const found = validator.check(value, place, text);
                if (found.length > 0) {
                  const seen = new Set<string>();
                  for (const d of found) {
                    // per-record rules are recomputed when the record is opened; duplicates need the whole file
                    note(n, d, d.ruleId.startsWith('id/'));
                    countRule(d, seen);
                  }
                }
                if (checker) {
                  for (const ref of imageRefsOfRecord(decoded ? { ok: true, value, place } : item, name, n)) {
                    const wait = checker.add(ref);
                    if (wait) await wait;
                  }
                }
              } else {
                cols.sourceCode.set(n, index.codeOfSource('(broken JSON)'));
                cols.turns.set(n, 0);
                cols.images.set(n, 0);
                const d = withPlace(item.diagnostic, place);
                note(n, d, true);
                countRule(d, new Set());
              }
              n++;
            }
          }
        } catch (error) {
          if (!DiagnosticError.is(error)) throw error;
          index.fileDiagnostics.push(error.diagnostic);
        }
        index.fileDiagnostics.push(...validator.finish());
        index.files.push({ path, name, size: sizes[f]!, first, records: n - first, kind, format });
        bytesBefore += sizes[f]!;
      }
      if (checker) {
        options.onProgress?.({ bytes: totalBytes, totalBytes, records: n, phase: 'images' });
        const summary = await checker.finish();
        const seenPerRecord = new Map<number, Set<string>>();
        for (const d of summary.diagnostics) {
          if (d.recordIndex === undefined) {
            index.fileDiagnostics.push(d);
            continue;
          }
          note(d.recordIndex, d, false);
          let seen = seenPerRecord.get(d.recordIndex);
          if (!seen) seenPerRecord.set(d.recordIndex, (seen = new Set()));
          countRule(d, seen);
        }
      }
    } catch (error) {
      await checker?.close();
      throw error;
    }
    const out = new DatasetIndex(n, options.resolver !== undefined);
    out.decode = options.decode;
    for (const c of Object.values(cols)) c.trim(n);
    out.fileOf = cols.fileOf.data;
    out.offsets = cols.offsets.data;
    out.lengths = cols.lengths.data;
    out.localIndex = cols.localIndex.data;
    out.sourceCode = cols.sourceCode.data;
    out.turns = cols.turns.data;
    out.images = cols.images.data;
    out.ruleMask = cols.ruleMask.data;
    out.worst = cols.worst.data;
    out.tokens = new Uint32Array(n).fill(NO_TOKENS);
    out.sources.push(...index.sources);
    for (const [k, v] of index.sourceCodes) out.sourceCodes.set(k, v);
    out.rules.push(...index.rules);
    out.files.push(...index.files);
    out.fileDiagnostics.push(...index.fileDiagnostics);
    for (const [k, v] of index.kept) out.kept.set(k, v);
    for (const [k, v] of index.ruleRecords) out.ruleRecords.set(k, v);
    return out;
  }

  /** Rules seen, with the records that have them, most records first. */
  ruleCounts(): RuleCount[] {
    return [...this.ruleRecords]
      .map(([ruleId, v]) => ({ ruleId, ...v }))
      .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.records - a.records);
  }
}

/** The files of the inputs: JSON/JSONL files as given, Parquet files and folders expanded to their `.parquet` files. */
async function expandInputs(
  paths: readonly string[],
): Promise<{ path: string; format: 'json' | 'parquet'; input: number }[]> {
  const out: { path: string; format: 'json' | 'parquet'; input: number }[] = [];
  for (const [input, path] of paths.entries()) {
    if (await isParquetInput(path)) {
      for (const file of await parquetFiles(path)) out.push({ path: file, format: 'parquet', input });
    } else out.push({ path, format: 'json', input });
  }
  return out;
}

/** The validation kind of a file, from its first records and name (as `llava validate` decides it). */
async function detectValidationKind(path: string): Promise<ValidationKind> {
  const head: ReadItem[] = [];
  try {
    for await (const item of readRecords(path, { file: path, chunkSize: 64 * 1024 })) {
      head.push(item);
      if (head.length >= 20) break;
    }
  } catch {
    // reported when the file is indexed
  }
  return validationKindOf(detectKind(head, path));
}

/** A reader diagnostic for one broken record, with the record's place. */
function withPlace(d: Diagnostic, place: { index: number; offset: number; line: number; column: number }): Diagnostic {
  if (d.place && d.recordIndex !== undefined) return d;
  return {
    ...d,
    recordIndex: d.recordIndex ?? place.index,
    place: d.place ?? { offset: place.offset, line: place.line, column: place.column },
  };
}

function clamp32(n: number): number {
  return Math.min(n, NO_TOKENS - 1);
}

export { NO_TOKENS };
