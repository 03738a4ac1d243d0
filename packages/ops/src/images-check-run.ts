/**
 * `llava images check` as one library call: the shard plan, the image sources, the `--list-missing` file and the
 * shard summary around `checkImageFiles` of @llavakit/images.
 */
import { checkRunPaths, writeTextFile } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import {
  type CheckFilesProgress,
  checkImageFiles,
  type ImagesReport,
  missingListLines,
  parseImageSourceSpec,
  type RuleCounts,
  withOutputFailure,
} from '@llavakit/images';
import { runShard } from './shard-run.js';

/** Options of {@link runImagesCheck}. */
export interface RunImagesCheckOptions {
  /** Data files (JSON array or JSON Lines, globs with a shard); `-` is standard input. */
  readonly inputs: readonly string[];
  /** Image source specs: `FOLDER`, `ARCHIVE.zip` or `PREFIX=PATH`, tried in order (see `parseImageSourceSpec`). */
  readonly images: readonly string[];
  /** `k/n`: check shard k of n (see `planShardRun` of @llavakit/convert). */
  readonly shard?: string;
  /** Also write the report without its diagnostics list here (`{shard}` expanded; a done marker with a shard). */
  readonly summaryFile?: string;
  /** Write every missing or broken image here (`path<TAB>status<TAB>references` per line; `{shard}` expanded). */
  readonly listMissing?: string;
  readonly io?: 'sync' | 'async';
  readonly concurrency?: number;
  readonly workers?: number;
  readonly maxImageBytes?: number;
  readonly strict?: boolean;
  /** Keep only the first this many diagnostics of each rule in the report (`0`: all). */
  readonly maxPerRule?: number;
  readonly onProgress?: (progress: CheckFilesProgress) => void;
}

/** What {@link runImagesCheck} did. */
export type ImagesCheckRun =
  | {
      readonly skipped: false;
      readonly report: ImagesReport;
      readonly ruleCounts: RuleCounts;
      /** The missing list written (this shard's name). */
      readonly listFile?: string;
      /** Why the missing list could not be written (also one more error in `report`). */
      readonly listFailure?: Diagnostic;
    }
  | {
      /** This shard already finished: `report` is its summary (diagnostics were counted, not kept). */
      readonly skipped: true;
      readonly report: ImagesReport;
      readonly shard: string;
      readonly doneFile: string;
    };

/**
 * Check every image the inputs reference, as `llava images check` does: plan the shard, parse the sources, refuse a
 * missing list that is an input, run `checkImageFiles`, write the missing list and the shard summary (atomically).
 * A bad `k/n` throws a `usage/shard*` `DiagnosticError`, a missing list that is an input `usage/output-conflict`, and a
 * bad source spec a `TypeError` (all usage errors). A missing list that cannot be written fails the run, it does not
 * throw.
 *
 * @example
 * ```ts
 * const run = await runImagesCheck({ inputs: ['mix665k.json'], images: ['./playground/data'] });
 * if (!run.report.ok) process.exitCode = 1;
 * ```
 */
export async function runImagesCheck(options: RunImagesCheckOptions): Promise<ImagesCheckRun> {
  const outcome = await runShard({
    inputs: options.inputs,
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    ...(options.summaryFile ? { summaryFile: options.summaryFile } : {}),
    otherOutputs: [options.listMissing],
    run: async (plan) => {
      // --list-missing names this shard's file ({shard} expanded)
      const listFile = options.listMissing ? plan.other(options.listMissing) : undefined;
      const sources = options.images.map((spec) => parseImageSourceSpec(spec));
      if (listFile) {
        await checkRunPaths({
          inputs: plan.inputs.map((path) => ({ flag: 'input', path })),
          outputs: [{ flag: '--list-missing', path: listFile }],
        });
      }
      const checked = await checkImageFiles({
        inputs: plan.inputs,
        sources,
        ...(plan.keepRecord ? { keepRecord: plan.keepRecord } : {}),
        ...(options.io ? { io: options.io } : {}),
        ...(options.maxImageBytes ? { maxImageBytes: options.maxImageBytes } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.workers !== undefined ? { workers: options.workers } : {}),
        ...(options.strict !== undefined ? { strict: options.strict } : {}),
        ...(options.maxPerRule !== undefined ? { maxPerRule: options.maxPerRule } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      let report = checked.report;
      let listFailure: Diagnostic | undefined;
      if (listFile) {
        try {
          await writeTextFile(listFile, missingListLines(report));
        } catch (error) {
          if (!DiagnosticError.is(error)) throw error;
          listFailure = error.diagnostic;
          report = withOutputFailure(report, error.diagnostic);
        }
      }
      return {
        skipped: false as const,
        report,
        ruleCounts: checked.ruleCounts,
        ...(listFile ? { listFile } : {}),
        ...(listFailure ? { listFailure } : {}),
      };
    },
    // the report without its diagnostics list (counts bound its size; the list may hold 100,000s)
    summarise: (run) => {
      const { diagnostics: _listed, ...summary } = run.report;
      return { summary, ok: summary.ok };
    },
  });
  if (!outcome.skipped) return outcome.result;
  return {
    skipped: true,
    report: { ...(outcome.summary as ImagesReport), diagnostics: [] },
    shard: outcome.shard,
    doneFile: outcome.doneFile,
  };
}
