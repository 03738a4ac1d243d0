/** The bookkeeping of an image check: counts per prefix, the problems, their references and the counts per rule. */
import type { Severity } from '@llavakit/diagnostics';
import type { ImageRef } from './refs.js';
import { imageRules } from './rules.js';
import { COUNT_KEY, type ImageProblem, type PrefixReport, zeroCounts } from './status.js';
import { DeferredMiss, type Finding, type Outcome } from './verdict.js';

/** References between two progress checks (a power of two). */
const PROGRESS_EVERY = 1024;

const MISSING_RULES = [imageRules.missing] as const;

/** The rules a verdict raises, one per finding. */
export function rulesOf(outcome: Outcome): readonly Finding['rule'][] {
  if (outcome instanceof DeferredMiss) return MISSING_RULES;
  return outcome.findings.map((f) => f.rule);
}

/**
 * What an image check has counted so far. Every reference is {@link CheckTally.record}ed once with the verdict of
 * its distinct ref; a problem is kept once per distinct ref (with its reference count) and every reference to it is
 * listed, so that diagnostics can be built at the end, in order, without keeping one per reference now.
 */
export class CheckTally {
  readonly byPrefix = new Map<string, PrefixReport>();
  readonly problems: { readonly problem: ImageProblem; readonly seq: number }[] = [];
  /** Every reference with a problem, and the number of its distinct ref (diagnostics are built from these later). */
  readonly problemRefs: ImageRef[] = [];
  readonly problemSeqs: number[] = [];
  readonly ruleCounts: Record<string, Partial<Record<Severity, number>>> = {};
  checked = 0;
  problemCount = 0;
  private lastProgress = performance.now();
  private lastPrefix: string | undefined;
  private lastReport: PrefixReport | undefined;

  constructor(private readonly onProgress?: (progress: { checked: number; problems: number }) => void) {}

  /** The report of a prefix (created on first use; the last one is remembered, refs come in runs of one prefix). */
  reportOf(prefix: string): PrefixReport {
    if (prefix === this.lastPrefix) return this.lastReport!;
    let report = this.byPrefix.get(prefix);
    if (!report) {
      report = { ...zeroCounts(), formats: {} };
      this.byPrefix.set(prefix, report);
    }
    this.lastPrefix = prefix;
    this.lastReport = report;
    return report;
  }

  /**
   * Count one reference with the verdict of its distinct ref number `seq` (`first`: the reference that was checked,
   * which keeps the problem), and report progress at most every 100 ms.
   */
  record(item: ImageRef, report: PrefixReport, outcome: Outcome, seq: number, first: boolean): void {
    report[COUNT_KEY[outcome.status]]++;
    this.checked++;
    if (outcome.status !== 'ok') {
      this.problemCount++;
      const rules = rulesOf(outcome);
      if (first) {
        outcome.problem = {
          ref: item.ref,
          status: outcome.status,
          ruleIds: rules.map((rule) => rule.id),
          references: 0,
          ...(item.recordIndex !== undefined ? { firstRecordIndex: item.recordIndex } : {}),
        };
        this.problems.push({ problem: outcome.problem, seq });
      }
      if (outcome.problem) outcome.problem.references++;
      this.problemRefs.push(item);
      this.problemSeqs.push(seq);
      for (const rule of rules) {
        const counts = (this.ruleCounts[rule.id] ??= {});
        counts[rule.severity] = (counts[rule.severity] ?? 0) + 1;
      }
    }
    if (this.onProgress && (this.checked & (PROGRESS_EVERY - 1)) === 0) {
      const now = performance.now();
      if (now - this.lastProgress >= 100) {
        this.lastProgress = now;
        this.onProgress({ checked: this.checked, problems: this.problemCount });
      }
    }
  }

  /** Report the final counts. */
  reportDone(): void {
    this.onProgress?.({ checked: this.checked, problems: this.problemCount });
  }
}
