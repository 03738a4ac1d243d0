import type { OpSummary } from './op-types.js';

/** Options of {@link renderOpSummary}. */
export interface RenderOpSummaryOptions {
  /** The first line of a finished run (`Filtered`, `Split: 9 train, 1 eval`, …). */
  readonly title: string;
  /** Lines added at the end (the operation's own facts). */
  readonly extra?: readonly string[];
  /** Rejected records were kept in a rejects file (else the summary suggests `--rejects`). */
  readonly rejectsFile?: boolean;
}

/**
 * The text summary of an operation (what the data-prep commands print on stderr): read, written and rejected with
 * the time, rejections by rule, the records of every output; for a run stopped by a fatal input error, what was
 * read before it and that nothing was written.
 */
export function renderOpSummary(summary: OpSummary, options: RenderOpSummaryOptions): string {
  const { title } = options;
  const extra = options.extra ?? [];
  const seconds = (summary.durationMs / 1000).toFixed(2);
  const lines = summary.failed
    ? ['Stopped', `  read ${summary.read} records before the error, in ${seconds}s`]
    : [title, `  read ${summary.read}, written ${summary.written}, rejected ${summary.rejected} in ${seconds}s`];
  for (const [rule, n] of Object.entries(summary.rejectedByRule)) lines.push(`  rejected by ${rule}: ${n}`);
  if (!summary.failed) for (const [path, n] of Object.entries(summary.outputs)) lines.push(`  ${path}: ${n} records`);
  lines.push(...extra);
  if (summary.rejected > 0 && !options.rejectsFile && !summary.failed)
    lines.push('  add --rejects <file> to keep the rejected records with their reasons');
  if (summary.failed) lines.push('  nothing was written (every output was discarded)');
  return lines.join('\n');
}
