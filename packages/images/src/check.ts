import { type Diagnostic, diagnose, type Severity } from '@llavakit/diagnostics';
import { decodeVerdict } from './check-batch.js';
import { CheckPool } from './check-pool.js';
import { readVerdict, readVerdictSync } from './check-read.js';
import { type ImageCheckSummary, summarize } from './check-summary.js';
import { StringIndex } from './name-table.js';
import type { ImageRef } from './refs.js';
import { resolverSetup } from './resolver.js';
import type { FoundResolution, ImageResolver, Resolution } from './resolver-types.js';
import { imageRules } from './rules.js';
import { prefixOf } from './sources.js';
import { COUNT_KEY, type ImageProblem, type PrefixReport, zeroCounts } from './status.js';
import { countInfo, DeferredMiss, type Finding, type Outcome, verdictOfUnfound } from './verdict.js';

/** Progress of {@link checkImages}. */
export interface CheckProgress {
  /** References checked so far. */
  readonly checked: number;
  /** References with a problem so far. */
  readonly problems: number;
}

/** Options of {@link checkImages}. */
export interface CheckImagesOptions {
  /** Images read at once when reads wait (zip entries, files with the resolver's `io: 'async'`). Default 64. */
  readonly concurrency?: number;
  /** Called with the counts so far: at most every 100 ms while checking, and once at the end. */
  readonly onProgress?: (progress: CheckProgress) => void;
  /** Also report problems of the sources (unusable folders/archives, unsafe zip entries). Default true. */
  readonly checkSources?: boolean;
  /** Group refs for the report. Default {@link prefixOf}. */
  readonly groupBy?: (ref: string) => string;
  /**
   * Worker threads that resolve, read and sniff distinct refs (in batches) while this thread goes on reading records;
   * used when the resolver reads with `io: 'sync'` (folders and zip archives). `0`: check in this thread. Default 1.
   * (When run from TypeScript sources, as in tests, images are always checked in this thread.)
   */
  readonly workers?: number;
}

/** A distinct path whose verdict is not known yet; later references to it wait in `waiters`. */
class Pending {
  waiters: ImageRef[] | undefined;
  constructor(
    readonly item: ImageRef,
    readonly report: PrefixReport,
    readonly seq: number,
  ) {}
}

/** References between two turns of the event loop (lets timers, signals and worker results in). */
const TURN = 1024;

/** A push-style image check: {@link ImageChecker.add} each reference, then {@link ImageChecker.finish}. */
export interface ImageChecker {
  /**
   * Check one reference. Returns a promise when the caller should wait for it before adding more: slow reads are
   * running at the concurrency limit, the worker threads have enough queued, or it is time to let the event loop turn.
   */
  add(ref: ImageRef): Promise<void> | undefined;
  /** Wait for every check still running and return the summary (then the checker is closed). */
  finish(): Promise<ImageCheckSummary>;
  /** Stop the worker threads without a summary (e.g. after an error); safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Check every referenced image: does it exist in the sources, is it a real image (magic bytes), does its real
 * format match its extension, is it truncated, and what are its dimensions. Each distinct path is checked once
 * (only its head and tail are read); every reference gets its own diagnostic, with record index, id and pointer.
 * Files in folders are read by a worker thread (see {@link CheckImagesOptions.workers}).
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
  const checker = createImageChecker(resolver, options);
  try {
    if (Symbol.asyncIterator in refs) {
      for await (const ref of refs as AsyncIterable<ImageRef>) {
        const wait = checker.add(ref);
        if (wait) await wait;
      }
    } else {
      for (const ref of refs as Iterable<ImageRef>) {
        const wait = checker.add(ref);
        if (wait) await wait;
      }
    }
    return await checker.finish();
  } finally {
    await checker.close();
  }
}

/**
 * The push-style form of {@link checkImages}, for callers that produce references in their own loop (no async
 * iterator hop per reference): `add` each one, awaiting the promise it sometimes returns, then `finish`.
 *
 * @example
 * ```ts
 * const checker = createImageChecker(resolver);
 * try {
 *   for await (const record of readRecords('data.json')) {
 *     for (const ref of imageRefsOfRecord(record, 'data.json')) await checker.add(ref);
 *   }
 *   console.log((await checker.finish()).total);
 * } finally {
 *   await checker.close();
 * }
 * ```
 */
export function createImageChecker(resolver: ImageResolver, options: CheckImagesOptions = {}): ImageChecker {
  const concurrency = Math.max(1, options.concurrency ?? 64);
  const groupBy = options.groupBy ?? prefixOf;
  const onProgress = options.onProgress;
  const setup = resolverSetup(resolver);
  const filePathNow = resolver.io === 'sync' ? setup?.filePathNow : undefined;
  const pool =
    setup && resolver.io === 'sync'
      ? CheckPool.create<Pending>(
          options.workers ?? 1,
          { sources: setup.sources, options: setup.options },
          resolver,
          (tokens, batch) => {
            if (batch.zipTops) setup.learnZipTops(batch.zipTops);
            const cursor = { next: 0 };
            for (let i = 0; i < tokens.length; i++) {
              const pending = tokens[i]!;
              const verdict = decodeVerdict(batch, i, cursor);
              if (verdict.info) countInfo(pending.report, verdict.info);
              settle(pending, verdict.outcome);
            }
          },
        )
      : undefined;

  const sourceCheck =
    options.checkSources === false ? Promise.resolve([]) : pool ? pool.checkSources() : resolver.checkSources();
  sourceCheck.catch(() => {}); // awaited in finish()
  const byPrefix = new Map<string, PrefixReport>();
  /** Numbers each distinct ref; `outcomes[n]` is the verdict (or the pending check) of ref number `n`. */
  const seen = new StringIndex();
  const outcomes: (Outcome | Pending)[] = [];
  const problems: { readonly problem: ImageProblem; readonly seq: number }[] = [];
  /** Every reference with a problem, and the number of its distinct ref (diagnostics are built from these later). */
  const problemRefs: ImageRef[] = [];
  const problemSeqs: number[] = [];
  const ruleCounts: Record<string, Partial<Record<Severity, number>>> = {};
  const buffers: Uint8Array[] = [];
  let checked = 0;
  let problemCount = 0;
  let lastProgress = performance.now();
  let lastPrefix: string | undefined;
  let lastReport: PrefixReport | undefined;

  const reportOf = (prefix: string): PrefixReport => {
    if (prefix === lastPrefix) return lastReport!;
    let report = byPrefix.get(prefix);
    if (!report) {
      report = { ...zeroCounts(), formats: {} };
      byPrefix.set(prefix, report);
    }
    lastPrefix = prefix;
    lastReport = report;
    return report;
  };

  const record = (item: ImageRef, report: PrefixReport, outcome: Outcome, seq: number, first: boolean) => {
    report[COUNT_KEY[outcome.status]]++;
    checked++;
    if (outcome.status !== 'ok') {
      problemCount++;
      const rules = rulesOf(outcome);
      if (first) {
        outcome.problem = {
          ref: item.ref,
          status: outcome.status,
          ruleIds: rules.map((rule) => rule.id),
          references: 0,
          ...(item.recordIndex !== undefined ? { firstRecordIndex: item.recordIndex } : {}),
        };
        problems.push({ problem: outcome.problem, seq });
      }
      if (outcome.problem) outcome.problem.references++;
      problemRefs.push(item);
      problemSeqs.push(seq);
      for (const rule of rules) {
        const counts = (ruleCounts[rule.id] ??= {});
        counts[rule.severity] = (counts[rule.severity] ?? 0) + 1;
      }
    }
    if (onProgress && (checked & (TURN - 1)) === 0) {
      const now = performance.now();
      if (now - lastProgress >= 100) {
        lastProgress = now;
        onProgress({ checked, problems: problemCount });
      }
    }
  };

  /** Record a distinct ref's verdict, then every reference that waited for it. */
  function settle(pending: Pending, outcome: Outcome): void {
    outcomes[pending.seq] = outcome;
    record(pending.item, pending.report, outcome, pending.seq, true);
    if (pending.waiters) for (const item of pending.waiters) record(item, pending.report, outcome, pending.seq, false);
  }

  /** Record a verdict known at once. */
  const decided = (item: ImageRef, report: PrefixReport, seq: number, outcome: Outcome): undefined => {
    outcomes[seq] = outcome;
    record(item, report, outcome, seq, true);
    return undefined;
  };

  const examine = (found: FoundResolution, report: PrefixReport): Promise<Outcome> =>
    readVerdict(resolver, buffers, found, report);
  const readHere = (found: FoundResolution, report: PrefixReport): Outcome =>
    readVerdictSync(resolver, buffers, found, report);

  /**
   * Go on with a resolved distinct ref: settle it now (missing, refused, or read in this thread), queue its file for
   * the workers, or read it asynchronously (zip entries, `io: 'async'`). A promise when the caller should wait.
   */
  const dispatch = (pending: Pending, resolution: Resolution): Promise<void> | undefined => {
    if (resolution.status !== 'found') {
      settle(pending, verdictOfUnfound(resolution));
      return undefined;
    }
    if (resolution.location.kind === 'file' && resolver.io === 'sync') {
      settle(pending, readHere(resolution, pending.report));
      return undefined;
    }
    return examine(resolution, pending.report).then((outcome) => settle(pending, outcome));
  };

  /** Check one reference; a promise when the caller should wait (a slow read, or the workers are busy). */
  const handle = (item: ImageRef): { slow: Promise<void> } | Promise<void> | undefined => {
    const ref = item.ref;
    const report = reportOf(groupBy(ref));
    report.references++;
    const at = seen.add(ref);
    if (at >= 0) {
      const known = outcomes[at]!;
      if (known instanceof Pending) (known.waiters ??= []).push(item);
      else record(item, report, known, at, false);
      return undefined;
    }
    report.distinct++;
    const seq = ~at;
    if (pool) {
      const pending = new Pending(item, report, seq);
      outcomes[seq] = pending;
      return pool.add(ref, pending);
    }
    let resolution: Resolution | undefined;
    if (filePathNow?.(ref) === null) {
      // A miss: kept as a deferred miss (explained only when a diagnostic is built) unless a listing adds a note.
      resolution = resolver.resolveNow(ref);
      if (setup!.isDeferrableMiss(ref, resolution)) return decided(item, report, seq, new DeferredMiss());
    }
    resolution ??= setup?.foundNow(ref) ?? resolver.resolveNow(ref);
    if (resolution !== undefined && resolution.status !== 'found') {
      return decided(item, report, seq, verdictOfUnfound(resolution));
    }
    if (resolution !== undefined && resolution.location.kind === 'file' && resolver.io === 'sync') {
      return decided(item, report, seq, readHere(resolution, report));
    }
    const pending = new Pending(item, report, seq);
    outcomes[seq] = pending;
    if (resolution !== undefined) {
      const wait = dispatch(pending, resolution);
      return wait === undefined ? undefined : { slow: wait };
    }
    // A folder listing, zip index or symlink check is still loading.
    return { slow: resolver.resolve(ref).then((r) => dispatch(pending, r)) };
  };

  /** The findings of distinct ref `seq` (a deferred miss is explained now). */
  const findingsOf = (seq: number): readonly Finding[] => {
    const outcome = outcomes[seq] as Outcome;
    if (!(outcome instanceof DeferredMiss)) return outcome.findings;
    const ref = seen.keyAt(seq);
    return verdictOfUnfound({ status: 'missing', ref, looked: setup!.lookedFor(ref) }).findings;
  };

  const diagnosticOf = (item: ImageRef, finding: Finding): Diagnostic =>
    diagnose(finding.rule, {
      message: finding.message,
      file: item.file,
      recordIndex: item.recordIndex,
      recordId: item.recordId,
      pointer: item.pointer ?? '/image',
      place: item.place,
      source: 'images',
      data: finding.data,
    });

  // Slow checks run alongside the caller, at most `concurrency` at once.
  let active = 0;
  let failure: { error: unknown } | undefined;
  let freed: (() => void) | undefined;
  let sinceTurn = 0;
  let finished = false;
  const release = () => {
    active--;
    const wake = freed;
    freed = undefined;
    wake?.();
  };
  const slot = (): Promise<void> => new Promise<void>((resolve) => (freed = resolve));

  return {
    add(item) {
      if (failure) throw failure.error;
      if (finished) throw new Error('The image check is finished.');
      const wait = handle(item);
      if (wait instanceof Promise) {
        sinceTurn = 0;
        return wait;
      }
      if (wait) {
        active++;
        wait.slow.then(release, (error: unknown) => {
          failure ??= { error };
          release();
        });
        if (active < concurrency) return undefined;
        return (async () => {
          while (active >= concurrency) await slot();
        })();
      }
      if (++sinceTurn < TURN) return undefined;
      sinceTurn = 0;
      return new Promise<void>((resolve) => setImmediate(resolve)); // let timers, signals and worker results in
    },
    async finish() {
      finished = true;
      try {
        while (active > 0) await slot();
        if (failure) throw failure.error;
        await pool?.drain();
        onProgress?.({ checked, problems: problemCount });

        return summarize({
          byPrefix,
          problems,
          problemRefs,
          problemSeqs,
          ruleCounts,
          sourceProblems: await sourceCheck,
          rulesOf: (seq) => rulesOf(outcomes[seq] as Outcome),
          findingsOf,
          diagnosticOf,
        });
      } finally {
        await pool?.close();
      }
    },
    async close() {
      finished = true;
      await pool?.close();
    },
  };
}

const MISSING_RULES = [imageRules.missing] as const;

/** The rules a verdict raises, one per finding. */
function rulesOf(outcome: Outcome): readonly Finding['rule'][] {
  if (outcome instanceof DeferredMiss) return MISSING_RULES;
  return outcome.findings.map((f) => f.rule);
}
