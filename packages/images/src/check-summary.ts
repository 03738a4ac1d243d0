/** The summary of an image check, built from what the checker recorded (see `createImageChecker`). */
import type { Diagnostic, Severity } from '@llavakit/diagnostics';
import type { ImageRef } from './refs.js';
import { type ImageCounts, type ImageProblem, type PrefixReport, zeroCounts } from './status.js';
import type { Finding } from './verdict.js';

/** What `checkImages` returns. */
export interface ImageCheckSummary {
  /** Totals over every prefix. */
  readonly total: ImageCounts & { distinct: number };
  /** Per prefix (`coco/`, `gqa/`, `(bare)`, …), sorted by name. */
  readonly byPrefix: Readonly<Record<string, PrefixReport>>;
  /** Distinct problem images, in order of first reference. */
  readonly problems: readonly ImageProblem[];
  /**
   * Source problems first, then one diagnostic per problem per reference, sorted by file, record and pointer. Built
   * on first access: with hundreds of thousands of missing images this is a large array, so a report that shows only
   * some of them should use {@link ImageCheckSummary.ruleCounts} and {@link ImageCheckSummary.firstDiagnostics}.
   */
  readonly diagnostics: readonly Diagnostic[];
  /** How many diagnostics each rule raised, by severity: the counts of {@link ImageCheckSummary.diagnostics}. */
  readonly ruleCounts: Readonly<Record<string, Partial<Record<Severity, number>>>>;
  /**
   * The first `maxPerRule` diagnostics of each rule, in the order of {@link ImageCheckSummary.diagnostics}, built
   * without building the others (with `renderReport(…, { maxPerRule, counts: ruleCounts })`, the same report).
   */
  firstDiagnostics(maxPerRule: number): Diagnostic[];
}

/** What a finished check knows, for {@link summarize}. */
export interface CheckState {
  readonly byPrefix: ReadonlyMap<string, PrefixReport>;
  /** Distinct problem images, with the number of their distinct ref. */
  readonly problems: { readonly problem: ImageProblem; readonly seq: number }[];
  /** Every reference with a problem, and the number of its distinct ref. */
  readonly problemRefs: readonly ImageRef[];
  readonly problemSeqs: readonly number[];
  readonly ruleCounts: Record<string, Partial<Record<Severity, number>>>;
  /** Problems of the sources themselves, reported first. */
  readonly sourceProblems: readonly Diagnostic[];
  /** The rules the verdict of distinct ref `seq` raises, and its findings (explained on demand). */
  readonly rulesOf: (seq: number) => readonly Finding['rule'][];
  readonly findingsOf: (seq: number) => readonly Finding[];
  readonly diagnosticOf: (item: ImageRef, finding: Finding) => Diagnostic;
}

/**
 * The summary of a finished check: problems in order of first reference, per-prefix reports sorted by name and
 * their total, the source problems counted per rule, and the diagnostics by file, record and pointer, built only
 * when asked for (all of them, or the first of each rule).
 */
export function summarize(state: CheckState): ImageCheckSummary {
  const { byPrefix, problems, problemRefs, problemSeqs, ruleCounts, sourceProblems, findingsOf, diagnosticOf } = state;
  // Problems in order of first reference; diagnostics by file, record and pointer.
  problems.sort((a, b) => (a.problem.firstRecordIndex ?? 0) - (b.problem.firstRecordIndex ?? 0) || a.seq - b.seq);
  const order = sortedOrder(problemRefs);
  const total = zeroCounts();
  const sorted: Record<string, PrefixReport> = {};
  for (const key of [...byPrefix.keys()].sort()) {
    const report = byPrefix.get(key)!;
    sorted[key] = report;
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += report[k];
  }
  for (const d of sourceProblems) {
    const counts = (ruleCounts[d.ruleId] ??= {});
    counts[d.severity] = (counts[d.severity] ?? 0) + 1;
  }
  let all: Diagnostic[] | undefined;
  return {
    total,
    byPrefix: sorted,
    problems: problems.map((p) => p.problem),
    ruleCounts,
    get diagnostics(): readonly Diagnostic[] {
      if (!all) {
        all = [...sourceProblems];
        for (const i of order) {
          for (const finding of findingsOf(problemSeqs[i]!)) all.push(diagnosticOf(problemRefs[i]!, finding));
        }
      }
      return all;
    },
    firstDiagnostics(maxPerRule: number): Diagnostic[] {
      const shown = new Map<string, number>();
      const out: Diagnostic[] = [];
      const take = (ruleId: string): boolean => {
        const n = shown.get(ruleId) ?? 0;
        if (n >= maxPerRule) return false;
        shown.set(ruleId, n + 1);
        return true;
      };
      for (const d of sourceProblems) if (take(d.ruleId)) out.push(d);
      for (const i of order) {
        const seq = problemSeqs[i]!;
        // Skip without explaining when every rule of this verdict has shown enough.
        if (state.rulesOf(seq).every((rule) => (shown.get(rule.id) ?? 0) >= maxPerRule)) continue;
        for (const finding of findingsOf(seq))
          if (take(finding.rule.id)) out.push(diagnosticOf(problemRefs[i]!, finding));
      }
      return out;
    },
  };
}

/** Indices of `refs` sorted by file name, record index and pointer (numeric parts compared as numbers); stable. */
export function sortedOrder(refs: readonly ImageRef[]): number[] {
  const names = [...new Set(refs.map((r) => r.file ?? ''))].sort((a, b) => a.localeCompare(b));
  const rank = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const same = i > 0 && names[i - 1]!.localeCompare(names[i]!) === 0; // collation-equal names keep their order
    rank.set(names[i]!, same ? rank.get(names[i - 1]!)! : i);
  }
  const order = Array.from(refs.keys());
  order.sort((x, y) => {
    const a = refs[x]!;
    const b = refs[y]!;
    const pa = a.pointer ?? '/image';
    const pb = b.pointer ?? '/image';
    return (
      rank.get(a.file ?? '')! - rank.get(b.file ?? '')! ||
      (a.recordIndex ?? 0) - (b.recordIndex ?? 0) ||
      (pa === pb ? 0 : pa.localeCompare(pb, 'en', { numeric: true })) ||
      x - y
    );
  });
  return order;
}
