/**
 * The image audit of whole data files (what `llava images check` runs): read every record of the inputs, check
 * every image they reference, and roll the result up into one {@link ImagesReport} — counts per rule and severity,
 * the pass/fail verdict, the diagnostics a report shows. Rendering for people and the streamed JSON form live in
 * `check-report.ts`.
 */
import { type Diagnostic, DiagnosticError, type Severity } from '@llavakit/diagnostics';
import { readRecordBatches } from '@llavakit/reader';
import { createImageChecker } from './check.js';
import type { ImageCheckSummary } from './check-summary.js';
import { imageRefsOfRecord } from './refs.js';
import { createImageResolver } from './resolver.js';
import { formatImageSource, type ImageSource } from './sources.js';

/** Read the data in small chunks: fewer parsed records alive at once, so they die young (less GC work). */
const CHUNK_BYTES = 64 * 1024;

/** Diagnostic counts by rule id and severity. */
export type RuleCounts = Record<string, Partial<Record<Severity, number>>>;

/** The result of {@link checkImageFiles}: what `llava images check --json` prints. */
export interface ImagesReport {
  readonly inputs: readonly string[];
  /** The sources as given (`PREFIX=PATH`, folders, archives). */
  readonly sources: readonly string[];
  /** Wall time of the check, rounded to milliseconds. */
  readonly seconds: number;
  /** No error (and, when strict, no warning) was found, and the missing list (if any) was written. */
  readonly ok: boolean;
  readonly total: ImageCheckSummary['total'];
  readonly byPrefix: ImageCheckSummary['byPrefix'];
  readonly problems: ImageCheckSummary['problems'];
  readonly counts: Record<Severity, number>;
  /** Input read problems first, then the image diagnostics kept (see {@link CheckImageFilesOptions.maxPerRule}). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Progress of {@link checkImageFiles}. */
export interface CheckFilesProgress {
  /** The input being read. */
  readonly input: string;
  /** Bytes of it read so far, and its size when known. */
  readonly bytesRead: number;
  readonly totalBytes: number | undefined;
  /** References checked, and those with a problem, so far. */
  readonly checked: number;
  readonly problems: number;
}

/** Options of {@link checkImageFiles}. */
export interface CheckImageFilesOptions {
  /** Data files (JSON array or JSON Lines); `-` is standard input. */
  readonly inputs: readonly string[];
  /** Image sources, tried in order (see `parseImageSourceSpec`). */
  readonly sources: readonly ImageSource[];
  /** Check only the records whose index this accepts (a shard's records). */
  readonly keepRecord?: (index: number) => boolean;
  /** How files are read (see `ImageResolverOptions.io`). Default `sync`. */
  readonly io?: 'sync' | 'async';
  /** Largest zip entry inflated to check it (see `ImageResolverOptions.maxImageBytes`). */
  readonly maxImageBytes?: number;
  /** Images read at once. Default 64. */
  readonly concurrency?: number;
  /** Worker threads (see `CheckImagesOptions.workers`). Default 1. */
  readonly workers?: number;
  /** Also fail on warnings. */
  readonly strict?: boolean;
  /**
   * Keep only the first this many image diagnostics of each rule in {@link ImagesReport.diagnostics} (the counts
   * still count all); `0` or absent: keep every one.
   */
  readonly maxPerRule?: number;
  /** Called with the progress: at most every 100 ms while checking, and once at the end. */
  readonly onProgress?: (progress: CheckFilesProgress) => void;
}

/** What {@link checkImageFiles} returns: the report, and its diagnostic counts by rule (for a shortened text report). */
export interface CheckImageFilesResult {
  readonly report: ImagesReport;
  readonly ruleCounts: RuleCounts;
}

/**
 * Check every image the records of some data files reference (see `createImageChecker`), and roll the result up:
 * read problems of the inputs are reported beside the image problems, counts are kept per rule and severity without
 * building every diagnostic, and `ok` says whether the run passes.
 *
 * @example
 * ```ts
 * const { report } = await checkImageFiles({ inputs: ['mix665k.json'], sources: [parseImageSourceSpec('./playground/data')] });
 * if (!report.ok) console.log(report.counts.error, 'errors');
 * ```
 */
export async function checkImageFiles(options: CheckImageFilesOptions): Promise<CheckImageFilesResult> {
  const resolver = createImageResolver(options.sources, {
    io: options.io ?? 'sync',
    ...(options.maxImageBytes ? { maxImageBytes: options.maxImageBytes } : {}),
  });
  const readProblems: Diagnostic[] = [];
  let bytesRead = 0;
  let totalBytes: number | undefined;
  let input = '';
  const started = performance.now();
  const onProgress = options.onProgress;
  const checker = createImageChecker(resolver, {
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(onProgress ? { onProgress: (p) => onProgress({ input, bytesRead, totalBytes, ...p }) } : {}),
  });
  let summary: ImageCheckSummary;
  try {
    for (const file of options.inputs) {
      input = file;
      await readInto(file, options.keepRecord, readProblems, checker, (done, total) => {
        bytesRead = done;
        totalBytes = total;
      });
    }
    summary = await checker.finish();
  } finally {
    await checker.close();
    await resolver.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return rollUp(summary, readProblems, {
    inputs: options.inputs,
    sources: options.sources.map(formatImageSource),
    seconds,
    strict: options.strict ?? false,
    maxPerRule: options.maxPerRule ?? 0,
  });
}

/** Feed the image refs of one input's records to the checker; read problems go to `readProblems`. */
async function readInto(
  file: string,
  keepRecord: ((index: number) => boolean) | undefined,
  readProblems: Diagnostic[],
  checker: ReturnType<typeof createImageChecker>,
  onBytes: (done: number, total: number | undefined) => void,
): Promise<void> {
  const batches = readRecordBatches(file, { file, chunkSize: CHUNK_BYTES, onProgress: onBytes });
  let index = 0;
  try {
    for await (const batch of batches) {
      for (const record of batch) {
        const recordIndex = record.place?.index ?? index;
        index = recordIndex + 1;
        if (keepRecord && !keepRecord(recordIndex)) continue;
        if (!record.ok) readProblems.push(record.diagnostic);
        for (const ref of imageRefsOfRecord(record, file, recordIndex)) {
          const wait = checker.add(ref);
          if (wait) await wait;
        }
      }
    }
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    readProblems.push(error.diagnostic);
  }
}

/** The report of a finished check: counts per rule (read problems included), the verdict, the diagnostics kept. */
function rollUp(
  summary: ImageCheckSummary,
  readProblems: readonly Diagnostic[],
  run: { inputs: readonly string[]; sources: string[]; seconds: number; strict: boolean; maxPerRule: number },
): CheckImageFilesResult {
  // Counts per rule without building every diagnostic: a text report shows only the first few of each rule.
  const ruleCounts: RuleCounts = {};
  for (const [ruleId, counts] of Object.entries(summary.ruleCounts)) ruleCounts[ruleId] = { ...counts };
  for (const d of readProblems) {
    const counts = (ruleCounts[d.ruleId] ??= {});
    counts[d.severity] = (counts[d.severity] ?? 0) + 1;
  }
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const byRule of Object.values(ruleCounts)) {
    for (const [severity, n] of Object.entries(byRule) as [Severity, number][]) counts[severity] += n;
  }
  const failed = counts.error > 0 || (run.strict && counts.warning > 0);
  const diagnostics = [
    ...readProblems,
    ...(run.maxPerRule === 0 ? summary.diagnostics : summary.firstDiagnostics(run.maxPerRule)),
  ];
  const report: ImagesReport = {
    inputs: run.inputs,
    sources: run.sources,
    seconds: Math.round(run.seconds * 1000) / 1000,
    ok: !failed,
    total: summary.total,
    byPrefix: summary.byPrefix,
    problems: summary.problems,
    counts,
    diagnostics,
  };
  return { report, ruleCounts };
}

/** The lines of a missing list (`--list-missing`): `path<TAB>status<TAB>references` per distinct problem image. */
export function missingListLines(report: Pick<ImagesReport, 'problems'>): string[] {
  return report.problems.map((p) => `${p.ref}\t${p.status}\t${p.references}\n`);
}

/** The report after its missing list could not be written: the failure is one more error, and the run fails. */
export function withOutputFailure(report: ImagesReport, failure: Diagnostic): ImagesReport {
  return {
    ...report,
    ok: false,
    counts: { ...report.counts, error: report.counts.error + 1 },
    diagnostics: [...report.diagnostics, failure],
  };
}
