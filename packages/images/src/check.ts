import { type Diagnostic, diagnose, type Place } from '@llavakit/diagnostics';
import { type FoundResolution, type ImageResolver, missingDiagnostic, unreadableDiagnostic } from './resolver.js';
import { imageRules } from './rules.js';
import {
  formatOfExtension,
  type ImageFormat,
  type ImageInfo,
  SNIFF_HEAD_BYTES,
  SNIFF_TAIL_BYTES,
  sniffImage,
} from './sniff.js';
import { prefixOf } from './sources.js';

/** One image reference of one record, as fed to {@link checkImages}. */
export interface ImageRef {
  /** The path as written in the record. */
  readonly ref: string;
  /** 0-based index of the record in its file. */
  readonly recordIndex?: number;
  /** The record's `id`. */
  readonly recordId?: string | number;
  /** The data file, as the user named it. */
  readonly file?: string;
  /** Where the record starts in the file. */
  readonly place?: Place;
  /** JSON pointer of the path inside the record: `/image` or `/image/N`. Default `/image`. */
  readonly pointer?: string;
}

/** The verdict for one distinct image path. */
export type ImageStatus = 'ok' | 'missing' | 'refused' | 'unreadable' | 'not-image' | 'truncated' | 'format-mismatch';

/** Counts of references by verdict (a record referencing a missing image counts once per reference). */
export interface ImageCounts {
  references: number;
  ok: number;
  missing: number;
  refused: number;
  unreadable: number;
  notImage: number;
  truncated: number;
  formatMismatch: number;
}

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

/** What {@link checkImages} returns. */
export interface ImageCheckSummary {
  /** Totals over every prefix. */
  readonly total: ImageCounts & { distinct: number };
  /** Per prefix (`coco/`, `gqa/`, `(bare)`, …), sorted by name. */
  readonly byPrefix: Readonly<Record<string, PrefixReport>>;
  /** Distinct problem images, in order of first reference. */
  readonly problems: readonly ImageProblem[];
  /** Source problems first, then one diagnostic per problem per reference, sorted by file, record and pointer. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Progress of {@link checkImages}. */
export interface CheckProgress {
  /** References checked so far. */
  readonly checked: number;
  /** References with a problem so far. */
  readonly problems: number;
}

/** Options of {@link checkImages}. */
export interface CheckImagesOptions {
  /** Images read at once. Default 64. */
  readonly concurrency?: number;
  /** Called after each reference. */
  readonly onProgress?: (progress: CheckProgress) => void;
  /** Also report problems of the sources (unusable folders/archives, unsafe zip entries). Default true. */
  readonly checkSources?: boolean;
  /** Group refs for the report. Default {@link prefixOf}. */
  readonly groupBy?: (ref: string) => string;
}

interface Finding {
  readonly rule: (typeof imageRules)[keyof typeof imageRules];
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

interface Outcome {
  readonly status: ImageStatus;
  readonly findings: readonly Finding[];
  problem?: ImageProblem;
}

const OK: Outcome = { status: 'ok', findings: [] };

const COUNT_KEY: Record<ImageStatus, keyof ImageCounts> = {
  ok: 'ok',
  missing: 'missing',
  refused: 'refused',
  unreadable: 'unreadable',
  'not-image': 'notImage',
  truncated: 'truncated',
  'format-mismatch': 'formatMismatch',
};

/**
 * Check every referenced image: does it exist in the sources, is it a real image (magic bytes), does its real
 * format match its extension, is it truncated, and what are its dimensions. Each distinct path is checked once
 * (only its head and tail are read); every reference gets its own diagnostic, with record index, id and pointer.
 *
 * @example
 * ```ts
 * const summary = await checkImages(imageRefsFromRecords(readRecords('mix665k.json'), 'mix665k.json'), resolver);
 * console.log(summary.byPrefix['coco/']?.missing);
 * ```
 */
export async function checkImages(
  refs: AsyncIterable<ImageRef> | Iterable<ImageRef>,
  resolver: ImageResolver,
  options: CheckImagesOptions = {},
): Promise<ImageCheckSummary> {
  const concurrency = Math.max(1, options.concurrency ?? 64);
  const groupBy = options.groupBy ?? prefixOf;
  const sourceDiagnostics = options.checkSources === false ? [] : await resolver.checkSources();
  const byPrefix = new Map<string, PrefixReport>();
  const seen = new Map<string, Outcome | Promise<Outcome>>();
  const problems: ImageProblem[] = [];
  const diagnostics: Diagnostic[] = [];
  const buffers: Uint8Array[] = [];
  let checked = 0;
  let problemCount = 0;

  const reportOf = (prefix: string): PrefixReport => {
    let report = byPrefix.get(prefix);
    if (!report) {
      report = {
        references: 0,
        distinct: 0,
        ok: 0,
        missing: 0,
        refused: 0,
        unreadable: 0,
        notImage: 0,
        truncated: 0,
        formatMismatch: 0,
        formats: {},
      };
      byPrefix.set(prefix, report);
    }
    return report;
  };

  const examine = async (ref: string, report: PrefixReport): Promise<Outcome> => {
    report.distinct++;
    const resolution = await resolver.resolve(ref);
    if (resolution.status === 'refused') {
      const d = resolution.diagnostic;
      const rule = d.ruleId === imageRules.invalidPath.id ? imageRules.invalidPath : imageRules.outsideRoot;
      return { status: 'refused', findings: [{ rule, message: d.message, data: { ...d.data } }] };
    }
    if (resolution.status === 'missing') {
      const d = missingDiagnostic(resolution);
      return { status: 'missing', findings: [{ rule: imageRules.missing, message: d.message, data: { ...d.data } }] };
    }
    const buffer = buffers.pop() ?? new Uint8Array(SNIFF_HEAD_BYTES);
    let info: ImageInfo;
    try {
      const { head, tail, size } = await resolver.readHeadTail(resolution, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer);
      info = sniffImage(head, { tail, size });
    } catch (error) {
      return unreadable(resolution, error);
    } finally {
      buffers.push(buffer);
    }
    return judge(ref, resolution, info, report);
  };

  /** The synchronous fast path: a found file, listings loaded, blocking reads. `undefined` → use {@link examine}. */
  const examineSync = (ref: string, report: PrefixReport): Outcome | undefined => {
    const found = resolver.resolveSync(ref);
    if (!found) return undefined;
    const buffer = buffers.pop() ?? new Uint8Array(SNIFF_HEAD_BYTES);
    try {
      const ht = resolver.readHeadTailSync(found, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer);
      if (!ht) return undefined;
      report.distinct++;
      return judge(ref, found, sniffImage(ht.head, { tail: ht.tail, size: ht.size }), report);
    } catch (error) {
      report.distinct++;
      return unreadable(found, error);
    } finally {
      buffers.push(buffer);
    }
  };

  const record = (item: ImageRef, report: PrefixReport, outcome: Outcome, first: boolean) => {
    report[COUNT_KEY[outcome.status]]++;
    checked++;
    if (outcome.status !== 'ok') {
      problemCount++;
      if (first) {
        outcome.problem = {
          ref: item.ref,
          status: outcome.status,
          ruleIds: outcome.findings.map((f) => f.rule.id),
          references: 0,
          ...(item.recordIndex !== undefined ? { firstRecordIndex: item.recordIndex } : {}),
        };
        problems.push(outcome.problem);
      }
      if (outcome.problem) outcome.problem.references++;
      for (const finding of outcome.findings) {
        diagnostics.push(
          diagnose(finding.rule, {
            message: finding.message,
            file: item.file,
            recordIndex: item.recordIndex,
            recordId: item.recordId,
            pointer: item.pointer ?? '/image',
            place: item.place,
            source: 'images',
            data: finding.data,
          }),
        );
      }
    }
    options.onProgress?.({ checked, problems: problemCount });
  };

  const handle = (item: ImageRef): Promise<void> | undefined => {
    const report = reportOf(groupBy(item.ref));
    report.references++;
    const known = seen.get(item.ref);
    if (known === undefined) {
      const fast = examineSync(item.ref, report);
      if (fast) {
        seen.set(item.ref, fast);
        record(item, report, fast, true);
        return undefined;
      }
      const pending = examine(item.ref, report);
      seen.set(item.ref, pending);
      return pending.then((outcome) => {
        seen.set(item.ref, outcome); // keep the plain outcome, not the promise
        record(item, report, outcome, true);
      });
    }
    if (known instanceof Promise) return known.then((outcome) => record(item, report, outcome, false));
    record(item, report, known, false);
    return undefined;
  };

  const isAsync = Symbol.asyncIterator in refs;
  const iterator = isAsync
    ? (refs as AsyncIterable<ImageRef>)[Symbol.asyncIterator]()
    : (refs as Iterable<ImageRef>)[Symbol.iterator]();
  let sinceYield = 0;
  const worker = async () => {
    for (;;) {
      const next = isAsync ? await iterator.next() : (iterator as Iterator<ImageRef>).next();
      if (next.done) return;
      const pending = handle(next.value);
      if (pending) await pending;
      else if (++sinceYield >= 4096) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve)); // let timers and signals run
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  // Problems found while a first reference was still pending get their record index fixed up by order of refs.
  problems.sort((a, b) => (a.firstRecordIndex ?? 0) - (b.firstRecordIndex ?? 0));
  diagnostics.sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.recordIndex ?? 0) - (b.recordIndex ?? 0) ||
      (a.pointer ?? '').localeCompare(b.pointer ?? '', 'en', { numeric: true }),
  );
  const total = {
    references: 0,
    distinct: 0,
    ok: 0,
    missing: 0,
    refused: 0,
    unreadable: 0,
    notImage: 0,
    truncated: 0,
    formatMismatch: 0,
  };
  const sorted: Record<string, PrefixReport> = {};
  for (const key of [...byPrefix.keys()].sort()) {
    const report = byPrefix.get(key)!;
    sorted[key] = report;
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += report[k];
  }
  return { total, byPrefix: sorted, problems, diagnostics: [...sourceDiagnostics, ...diagnostics] };
}

function unreadable(found: FoundResolution, error: unknown): Outcome {
  const d = unreadableDiagnostic(found, error);
  return { status: 'unreadable', findings: [{ rule: imageRules.unreadable, message: d.message, data: { ...d.data } }] };
}

function judge(ref: string, found: FoundResolution, info: ImageInfo, report: PrefixReport): Outcome {
  const where =
    found.location.kind === 'file' ? found.location.path : `${found.location.archive}!${found.location.entry}`;
  const data = { ref, location: found.location, format: info.format };
  if (info.format === 'unknown') {
    return {
      status: 'not-image',
      findings: [
        {
          rule: imageRules.notAnImage,
          message: `Image "${ref}" (${where}) is not an image: ${info.note ?? 'no known signature'}.`,
          data,
        },
      ],
    };
  }
  report.formats[info.format] = (report.formats[info.format] ?? 0) + 1;
  if (info.width !== undefined && info.height !== undefined) {
    report.width = widen(report.width, info.width);
    report.height = widen(report.height, info.height);
  }
  const findings: Finding[] = [];
  if (info.truncated) {
    findings.push({
      rule: imageRules.truncated,
      message: `Image "${ref}" (${where}) is a truncated ${info.format.toUpperCase()}: ${info.note ?? 'incomplete'}.`,
      data,
    });
  }
  const promised = formatOfExtension(found.path);
  if (promised !== info.format) {
    const dot = found.path.lastIndexOf('.');
    const ext = dot > found.path.lastIndexOf('/') ? found.path.slice(dot) : '(no extension)';
    findings.push({
      rule: imageRules.formatMismatch,
      message: `Image "${ref}" is a ${info.format.toUpperCase()} but its name ends in ${ext}.`,
      data: { ...data, extension: ext },
    });
  }
  if (findings.length === 0) return OK;
  return { status: findings[0]!.rule === imageRules.truncated ? 'truncated' : 'format-mismatch', findings };
}

function widen(range: { min: number; max: number } | undefined, value: number): { min: number; max: number } {
  if (!range) return { min: value, max: value };
  if (value < range.min) range.min = value;
  if (value > range.max) range.max = value;
  return range;
}

/** A record as produced by `readRecords` from `@llavakit/reader` (only the fields used here). */
export interface RecordResultLike {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly place?: {
    readonly index?: number;
    readonly offset?: number;
    readonly line?: number;
    readonly column?: number;
  };
}

/**
 * Turn read records into image refs: a string `image` gives one ref at `/image`, an array gives one per string item
 * at `/image/N`. Records that failed to parse or have no image are skipped (other commands report those).
 *
 * @example
 * ```ts
 * for await (const ref of imageRefsFromRecords(readRecords('data.json', { file: 'data.json' }), 'data.json')) …
 * ```
 */
export async function* imageRefsFromRecords(
  records: AsyncIterable<RecordResultLike> | Iterable<RecordResultLike>,
  file?: string,
): AsyncGenerator<ImageRef> {
  let index = 0;
  for await (const result of records) {
    const recordIndex = result.place?.index ?? index;
    index = recordIndex + 1;
    if (!result.ok || typeof result.value !== 'object' || result.value === null) continue;
    const record = result.value as { id?: unknown; image?: unknown };
    const recordId = typeof record.id === 'string' || typeof record.id === 'number' ? record.id : undefined;
    const place = result.place
      ? {
          ...(result.place.offset !== undefined ? { offset: result.place.offset } : {}),
          ...(result.place.line !== undefined ? { line: result.place.line } : {}),
          ...(result.place.column !== undefined ? { column: result.place.column } : {}),
        }
      : undefined;
    const base = {
      recordIndex,
      ...(recordId !== undefined ? { recordId } : {}),
      ...(file !== undefined ? { file } : {}),
      ...(place ? { place } : {}),
    };
    if (typeof record.image === 'string') yield { ref: record.image, pointer: '/image', ...base };
    else if (Array.isArray(record.image)) {
      for (let i = 0; i < record.image.length; i++) {
        const item: unknown = record.image[i];
        if (typeof item === 'string') yield { ref: item, pointer: `/image/${i}`, ...base };
      }
    }
  }
}
