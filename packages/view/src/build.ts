import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { openParquetFile, parquetRules } from '@llavakit/format-parquet';
import { createImageChecker, imageRefsOfRecord } from '@llavakit/images';
import {
  checkInputPath,
  detectKind,
  type ReadItem,
  readerRules,
  readRecordBatches,
  readRecords,
  validationKindOf,
} from '@llavakit/reader';
import { createValidator, type ValidationKind } from '@llavakit/schema';
import { decodeSafely } from './decode.js';
import {
  Column,
  type DatasetFile,
  type IndexOptions,
  type IndexParts,
  OTHER_BIT,
  type RuleRecords,
  SEVERITY_RANK,
} from './model.js';
import { isParquetInput, parquetFiles, parquetRecordOf, sliceOption } from './parquet.js';

/** The rule whose diagnostics are replayed when a record is opened instead of being kept (see `duplicates.ts`). */
export const DUPLICATE_RULE = 'id/duplicate';

interface Entry {
  readonly path: string;
  readonly format: 'json' | 'parquet';
  /** The number of the input (a folder of Parquet files is one input). */
  readonly input: number;
}

type Checker = ReturnType<typeof createImageChecker>;
type Validator = ReturnType<typeof createValidator>;

/**
 * The columns and tables of an index while it is built: one record is added at a time (its place, its summary and
 * the diagnostics found for it), then {@link Builder.parts} hands them over at their final length.
 */
class Builder {
  n = 0;
  readonly fileOf = new Column(new Uint16Array(1024), (n) => new Uint16Array(n));
  readonly offsets = new Column(new Float64Array(1024), (n) => new Float64Array(n));
  readonly lengths = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
  readonly localIndex = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
  readonly sourceCode = new Column(new Uint16Array(1024), (n) => new Uint16Array(n));
  readonly turns = new Column(new Uint16Array(1024), (n) => new Uint16Array(n));
  readonly images = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
  readonly ruleMask = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
  readonly worst = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
  /** Record → 1 + the record whose id it repeats (0: none); sparse, so it grows only when set. */
  readonly duplicateOf = new Column(new Uint32Array(0), (n) => new Uint32Array(n));
  readonly sources: string[] = [];
  private readonly sourceCodes = new Map<string, number>();
  readonly rules: string[] = [];
  readonly files: DatasetFile[] = [];
  readonly fileDiagnostics: Diagnostic[] = [];
  readonly kept = new Map<number, Diagnostic[]>();
  readonly ruleRecords: RuleRecords = new Map();
  private keptCount = 0;

  constructor(private readonly maxKept: number) {}

  codeOfSource(label: string): number {
    let code = this.sourceCodes.get(label);
    if (code === undefined) {
      code = this.sources.length;
      this.sources.push(label);
      this.sourceCodes.set(label, code);
    }
    return code;
  }

  bitOfRule(ruleId: string): number {
    const at = this.rules.indexOf(ruleId);
    if (at >= 0) return at;
    if (this.rules.length < OTHER_BIT) {
      this.rules.push(ruleId);
      return this.rules.length - 1;
    }
    return OTHER_BIT;
  }

  /** Make room in the dense columns for `n` records in all (see {@link Column.reserve}). */
  reserve(n: number): void {
    for (const column of [
      this.fileOf,
      this.offsets,
      this.lengths,
      this.localIndex,
      this.sourceCode,
      this.turns,
      this.images,
      this.ruleMask,
      this.worst,
    ])
      column.reserve(n);
  }

  /** Start record `n` at its place: file `f`, offset and length (Parquet: row group and row), index in its file. */
  place(f: number, offset: number, length: number, local: number): void {
    const n = this.n;
    this.fileOf.set(n, f);
    this.offsets.set(n, offset);
    this.lengths.set(n, length);
    this.localIndex.set(n, local);
    this.ruleMask.set(n, 0);
    this.worst.set(n, 0);
  }

  summary(source: string, turns: number, images: number): void {
    this.sourceCode.set(this.n, this.codeOfSource(source));
    this.turns.set(this.n, Math.min(turns, 0xffff));
    this.images.set(this.n, Math.min(images, 0xff));
  }

  /**
   * Note a diagnostic of record `n` (its rule bit and worst severity). `keep` keeps it for the record view (up to the
   * limit); a duplicate id is not kept but remembered as the record it repeats, and replayed when the record is opened.
   */
  note(n: number, d: Diagnostic, keep: boolean, firstOfFile = 0): void {
    const bit = this.bitOfRule(d.ruleId);
    this.ruleMask.set(n, (this.ruleMask.data[n]! | (1 << bit)) >>> 0);
    const rank = SEVERITY_RANK[d.severity];
    if (rank > this.worst.data[n]!) this.worst.set(n, rank);
    if (!keep) return;
    const first = (d.data as { firstIndex?: unknown } | undefined)?.firstIndex;
    if (d.ruleId === DUPLICATE_RULE && typeof first === 'number') {
      this.duplicateOf.set(n, firstOfFile + first + 1);
      return;
    }
    if (this.keptCount >= this.maxKept) return;
    this.keptCount++;
    const list = this.kept.get(n);
    if (list) list.push(d);
    else this.kept.set(n, [d]);
  }

  /** Count a rule once per record (`seen`: the rules already counted for this record). */
  countRule(d: Diagnostic, seen: Set<string>): void {
    if (seen.has(d.ruleId)) return;
    seen.add(d.ruleId);
    const entry = this.ruleRecords.get(d.ruleId);
    if (entry) entry.records++;
    else this.ruleRecords.set(d.ruleId, { severity: d.severity, records: 1, ...(d.hint ? { hint: d.hint } : {}) });
  }

  /** Note the diagnostics the validator found for the current record; only cross-record ones (`id/…`) are kept. */
  found(diagnostics: readonly Diagnostic[], firstOfFile: number): void {
    if (diagnostics.length === 0) return;
    const seen = new Set<string>();
    for (const d of diagnostics) {
      this.note(this.n, d, d.ruleId.startsWith('id/'), firstOfFile);
      this.countRule(d, seen);
    }
  }

  parts(options: IndexOptions): IndexParts {
    const n = this.n;
    return {
      count: n,
      imagesChecked: options.resolver !== undefined,
      decode: options.decode,
      parquetSliceBytes: options.parquetSliceBytes,
      fileOf: this.fileOf.take(n),
      offsets: this.offsets.take(n),
      lengths: this.lengths.take(n),
      localIndex: this.localIndex.take(n),
      sourceCode: this.sourceCode.take(n),
      turns: this.turns.take(n),
      images: this.images.take(n),
      ruleMask: this.ruleMask.take(n),
      worst: this.worst.take(n),
      duplicateOf: this.duplicateOf.take(n),
      sources: this.sources,
      rules: this.rules,
      files: this.files,
      fileDiagnostics: this.fileDiagnostics,
      kept: this.kept,
      ruleRecords: this.ruleRecords,
    };
  }
}

/**
 * Stream every input once and build the parts of an index: places, summary columns, and the diagnostics of the
 * validator (`@llavakit/schema`) and, with a resolver, of the image audit (`@llavakit/images`). A file that stops
 * being readable part-way (truncated, not JSON) keeps the records read before it, and its diagnostic goes to the
 * file diagnostics.
 */
export async function buildIndex(
  paths: readonly string[],
  options: IndexOptions,
  /** Worker threads of the image audit (`createImageChecker`'s `workers`; default theirs). */
  auditWorkers?: number,
): Promise<IndexParts> {
  const entries = await expandInputs(paths);
  const sizes = await Promise.all(entries.map(async (e) => (await stat(e.path)).size));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const b = new Builder(options.maxKeptDiagnostics ?? 200_000);
  const checker = options.resolver
    ? createImageChecker(options.resolver, {
        checkSources: true,
        ...(auditWorkers !== undefined ? { workers: auditWorkers } : {}),
      })
    : undefined;
  let bytesBefore = 0;
  try {
    const inputFirst = new Map<number, number>();
    for (let f = 0; f < entries.length; f++) {
      const entry = entries[f]!;
      const name =
        entries.filter((e) => basename(e.path) === basename(entry.path)).length > 1 ? entry.path : basename(entry.path);
      if (!inputFirst.has(entry.input)) inputFirst.set(entry.input, b.n);
      const file = { f, path: entry.path, name, size: sizes[f]!, bytesBefore, totalBytes };
      if (entry.format === 'parquet')
        await indexParquetFile(b, file, b.n - inputFirst.get(entry.input)!, options, checker);
      else await indexJsonFile(b, file, options, checker);
      bytesBefore += sizes[f]!;
    }
    if (checker) {
      options.onProgress?.({ bytes: totalBytes, totalBytes, records: b.n, phase: 'images' });
      const summary = await checker.finish();
      const seenPerRecord = new Map<number, Set<string>>();
      for (const d of summary.diagnostics) {
        if (d.recordIndex === undefined) {
          b.fileDiagnostics.push(d);
          continue;
        }
        b.note(d.recordIndex, d, false);
        let seen = seenPerRecord.get(d.recordIndex);
        if (!seen) seenPerRecord.set(d.recordIndex, (seen = new Set()));
        b.countRule(d, seen);
      }
    }
  } catch (error) {
    await checker?.close();
    throw error;
  }
  return b.parts(options);
}

interface FileToIndex {
  readonly f: number;
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly bytesBefore: number;
  readonly totalBytes: number;
}

async function indexJsonFile(b: Builder, file: FileToIndex, options: IndexOptions, checker?: Checker): Promise<void> {
  const { f, path, name } = file;
  const first = b.n;
  // decoded records are canonical LLaVA records, whatever the file's own shape
  const kind = options.kind ?? (options.decode ? 'llava' : await detectValidationKind(path));
  const validator = createValidator({ file: name, kind });
  try {
    const batches = readRecordBatches(path, {
      file: name,
      signal: options.signal,
      onProgress: (bytes) =>
        options.onProgress?.({
          bytes: file.bytesBefore + bytes,
          totalBytes: file.totalBytes,
          records: b.n,
          phase: 'index',
        }),
    });
    for await (const batch of batches) {
      for (const item of batch) {
        const place = item.place;
        b.place(f, place.offset, place.length, place.index);
        const decoded =
          item.ok && options.decode ? decodeSafely(options.decode, item.value, place.index, name) : undefined;
        if (decoded && !decoded.ok) {
          b.summary('(not decoded)', 0, 0);
          const seen = new Set<string>();
          for (const d of decoded.diagnostics) {
            const placed = withPlace({ ...d, recordIndex: d.recordIndex ?? place.index }, place);
            b.note(b.n, placed, true);
            b.countRule(placed, seen);
          }
        } else if (item.ok) {
          const value = decoded?.ok ? decoded.record : item.value;
          const text = decoded?.ok ? undefined : item.text;
          const summary = options.metrics.summarize(value);
          b.summary(summary.source, summary.turns, summary.images);
          // per-record rules are recomputed when the record is opened; duplicates need the whole file
          b.found(validator.check(value, place, text), first);
          if (checker) {
            for (const ref of imageRefsOfRecord(decoded ? { ok: true, value, place } : item, name, b.n)) {
              const wait = checker.add(ref);
              if (wait) await wait;
            }
          }
        } else {
          b.summary('(broken JSON)', 0, 0);
          const d = withPlace(item.diagnostic, place);
          b.note(b.n, d, true);
          b.countRule(d, new Set());
        }
        b.n++;
      }
    }
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    b.fileDiagnostics.push(error.diagnostic);
  }
  b.fileDiagnostics.push(...validator.finish());
  b.files.push({ path, name, size: file.size, first, records: b.n - first, kind, format: 'json' });
}

async function indexParquetFile(
  b: Builder,
  file: FileToIndex,
  inputIndex: number,
  options: IndexOptions,
  checker?: Checker,
): Promise<void> {
  const { f, path, name } = file;
  const first = b.n;
  let kind: ValidationKind = options.kind ?? 'llava';
  try {
    const parquet = await openParquetFile(path, sliceOption(options.parquetSliceBytes));
    b.reserve(b.n + parquet.groups.reduce((sum, rows) => sum + rows, 0));
    let validator: Validator | undefined;
    let local = 0;
    for (let g = 0; g < parquet.groups.length; g++) {
      // a huge row group with several pages is read in slices of pages, the others whole
      const slices = await parquet.slices(g);
      for (let s = 0; s < slices.length; s++) {
        options.signal?.throwIfAborted();
        const start = slices[s]!;
        const end = slices[s + 1] ?? parquet.groups[g]!;
        const rows = slices.length > 1 ? await parquet.readRows(g, start, end) : await parquet.readGroup(g);
        if (!validator) {
          // the kind from the first records, as for JSON
          const head = rows.slice(0, 20).map((row, i) => parquetRecordOf(parquet, row, inputIndex + local + i));
          kind = options.kind ?? validationKindOf(detectKind(headOf(head, local), path));
          validator = createValidator({ file: name, kind });
        }
        for (let i = 0; i < rows.length; i++, local++, b.n++) {
          // one row at a time, with no JSON text: the validator places a Parquet record's diagnostics by index only
          // (no byte offset into the file), so the text would change nothing but the garbage made per row group
          const one = parquet.toRecord(rows[i]!, inputIndex + local);
          rows[i] = undefined as never; // the raw row (and its image bytes) goes as soon as it is converted
          b.place(f, g, start + i, local);
          if (one.ok) {
            const summary = options.metrics.summarize(one.record);
            b.summary(summary.source, summary.turns, summary.images);
            b.found(validator.check(one.record, { index: local }), first);
            if (checker) {
              const item = { ok: true as const, value: one.record, place: { index: local } };
              for (const ref of imageRefsOfRecord(item, name, b.n)) {
                if (one.embedded?.has(ref.ref)) continue; // embedded: nothing to look up
                const wait = checker.add(ref);
                if (wait) await wait;
              }
            }
          } else {
            b.summary('(invalid row)', 0, 0);
            const d: Diagnostic = {
              ruleId: parquetRules.invalidRow,
              severity: 'error',
              source: 'parquet',
              file: name,
              recordIndex: local,
              hint: 'LLaVA rows need `conversations`: a list of {from, value} with string values.',
              ...one.diagnostic,
              message: `Row ${local} of ${name}: ${one.diagnostic.message}`,
            };
            b.note(b.n, d, true);
            b.countRule(d, new Set());
          }
        }
        const done = g + end / Math.max(1, parquet.groups[g]!);
        options.onProgress?.({
          bytes: file.bytesBefore + Math.round((file.size * done) / parquet.groups.length),
          totalBytes: file.totalBytes,
          records: b.n,
          phase: 'index',
        });
      }
    }
    if (validator) b.fileDiagnostics.push(...validator.finish());
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    b.fileDiagnostics.push(error.diagnostic);
  }
  b.files.push({ path, name, size: file.size, first, records: b.n - first, kind, format: 'parquet', inputIndex });
}

/** The first records of a Parquet file as reader items, to detect the validation kind from. */
function headOf(shown: ReturnType<typeof parquetRecordOf>[], local: number): ReadItem[] {
  return shown.slice(0, 20).map((r, i) => {
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
}

/** The files of the inputs: JSON/JSONL files as given, Parquet files and folders expanded to their `.parquet` files. */
async function expandInputs(paths: readonly string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const [input, path] of paths.entries()) {
    if (await isParquetInput(path)) {
      for (const file of await parquetFiles(path)) out.push({ path: file, format: 'parquet', input });
    } else {
      await checkSeekable(path);
      out.push({ path, format: 'json', input });
    }
  }
  return out;
}

/**
 * The viewer reads records back by byte offset, so each input must be a regular file: a missing, unreadable or
 * directory path gets the reader's diagnostic (`checkInputPath`), and a FIFO, pipe, device or `-` `input/unreadable` —
 * never a raw I/O error, and never an open that would wait for a FIFO's writer.
 */
async function checkSeekable(path: string): Promise<void> {
  // `undefined` for `-`: standard input cannot be read back either.
  const info = await checkInputPath(path);
  if (!info?.isFile()) {
    throw new DiagnosticError(
      diagnose(readerRules.inputUnreadable, {
        message:
          'The viewer reads records back by byte offset, so it needs a regular file; a FIFO, pipe or device cannot be viewed (save it to a file first, or use llava validate / llava stats, which stream).',
        file: path,
        source: 'view',
      }),
    );
  }
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
