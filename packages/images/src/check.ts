import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { decodeVerdict } from './check-batch.js';
import { CheckPool } from './check-pool.js';
import { readVerdict, readVerdictSync } from './check-read.js';
import { type ImageCheckSummary, summarize } from './check-summary.js';
import { CheckTally, rulesOf } from './check-tally.js';
import { StringIndex } from './name-table.js';
import type { ImageRef } from './refs.js';
import { resolverSetup } from './resolver.js';
import type { FoundResolution, ImageResolver, Resolution, ResolverSetup } from './resolver-types.js';
import { SlowChecks } from './slow-checks.js';
import { prefixOf } from './sources.js';
import type { PrefixReport } from './status.js';
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
  const groupBy = options.groupBy ?? prefixOf;
  const setup = resolverSetup(resolver);
  const filePathNow = resolver.io === 'sync' ? setup?.filePathNow : undefined;
  const tally = new CheckTally(options.onProgress);
  const slow = new SlowChecks(Math.max(1, options.concurrency ?? 64));
  /** Numbers each distinct ref; `outcomes[n]` is the verdict (or the pending check) of ref number `n`. */
  const seen = new StringIndex();
  const outcomes: (Outcome | Pending)[] = [];
  const buffers: Uint8Array[] = [];

  /** Record a distinct ref's verdict, then every reference that waited for it. */
  const settle = (pending: Pending, outcome: Outcome): void => {
    outcomes[pending.seq] = outcome;
    tally.record(pending.item, pending.report, outcome, pending.seq, true);
    if (pending.waiters)
      for (const item of pending.waiters) tally.record(item, pending.report, outcome, pending.seq, false);
  };
  const pool = setup && resolver.io === 'sync' ? startPool(resolver, setup, options.workers ?? 1, settle) : undefined;
  const sourceCheck =
    options.checkSources === false ? Promise.resolve([]) : pool ? pool.checkSources() : resolver.checkSources();
  sourceCheck.catch(() => {}); // awaited in finish()

  /** Record a verdict known at once. */
  const decided = (item: ImageRef, report: PrefixReport, seq: number, outcome: Outcome): undefined => {
    outcomes[seq] = outcome;
    tally.record(item, report, outcome, seq, true);
    return undefined;
  };
  const readHere = (found: FoundResolution, report: PrefixReport): Outcome =>
    readVerdictSync(resolver, buffers, found, report);

  /**
   * Go on with a resolved distinct ref: settle it now (missing, refused, or read in this thread), or read it
   * asynchronously (zip entries, `io: 'async'`). A promise when the caller should wait.
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
    return readVerdict(resolver, buffers, resolution, pending.report).then((outcome) => settle(pending, outcome));
  };

  /** Check a new distinct ref in this thread: at once when what it needs is loaded, else as a slow check. */
  const checkHere = (item: ImageRef, report: PrefixReport, seq: number): { slow: Promise<void> } | undefined => {
    const ref = item.ref;
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

  /** Check one reference; a promise when the caller should wait (a slow read, or the workers are busy). */
  const handle = (item: ImageRef): { slow: Promise<void> } | Promise<void> | undefined => {
    const report = tally.reportOf(groupBy(item.ref));
    report.references++;
    const at = seen.add(item.ref);
    if (at >= 0) {
      const known = outcomes[at]!;
      if (known instanceof Pending) (known.waiters ??= []).push(item);
      else tally.record(item, report, known, at, false);
      return undefined;
    }
    report.distinct++;
    const seq = ~at;
    if (!pool) return checkHere(item, report, seq);
    const pending = new Pending(item, report, seq);
    outcomes[seq] = pending;
    return pool.add(item.ref, pending);
  };

  /** The findings of distinct ref `seq` (a deferred miss is explained now). */
  const findingsOf = (seq: number): readonly Finding[] => {
    const outcome = outcomes[seq] as Outcome;
    if (!(outcome instanceof DeferredMiss)) return outcome.findings;
    const ref = seen.keyAt(seq);
    return verdictOfUnfound({ status: 'missing', ref, looked: setup!.lookedFor(ref) }).findings;
  };

  let sinceTurn = 0;
  let finished = false;
  return {
    add(item) {
      slow.throwFailure();
      if (finished) throw new Error('The image check is finished.');
      const wait = handle(item);
      if (wait instanceof Promise) {
        sinceTurn = 0;
        return wait;
      }
      if (wait) return slow.start(wait.slow);
      if (++sinceTurn < TURN) return undefined;
      sinceTurn = 0;
      return new Promise<void>((resolve) => setImmediate(resolve)); // let timers, signals and worker results in
    },
    async finish() {
      finished = true;
      try {
        await slow.drain();
        await pool?.drain();
        tally.reportDone();
        return summarize({
          byPrefix: tally.byPrefix,
          problems: tally.problems,
          problemRefs: tally.problemRefs,
          problemSeqs: tally.problemSeqs,
          ruleCounts: tally.ruleCounts,
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

/** The worker threads of a check: each batch of verdicts they send back settles its distinct refs, in order. */
function startPool(
  resolver: ImageResolver,
  setup: ResolverSetup,
  workers: number,
  settle: (pending: Pending, outcome: Outcome) => void,
): CheckPool<Pending> | undefined {
  return CheckPool.create<Pending>(
    workers,
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
  );
}

/** The diagnostic of one finding for one reference: its file, record index, id, pointer and place. */
function diagnosticOf(item: ImageRef, finding: Finding): Diagnostic {
  return diagnose(finding.rule, {
    message: finding.message,
    file: item.file,
    recordIndex: item.recordIndex,
    recordId: item.recordId,
    pointer: item.pointer ?? '/image',
    place: item.place,
    source: 'images',
    data: finding.data,
  });
}
