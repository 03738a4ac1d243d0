import type { Diagnostic, Severity } from './diagnostic.js';

/** Options of {@link renderReport}. */
export interface ReportOptions {
  /** Show at most this many diagnostics per rule (the count still covers all). Default: unlimited. */
  readonly maxPerRule?: number;
  /** Use ANSI colours. Default: false. */
  readonly color?: boolean;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Format where a diagnostic is, as `file:line:column` followed by the record (`#index id=…`) and pointer.
 *
 * @example
 * ```ts
 * formatLocation({ file: 'a.json', place: { line: 3, column: 5 }, recordIndex: 1, recordId: 'x', pointer: '/image' });
 * // 'a.json:3:5 record #1 (id "x") /image'
 * ```
 */
export function formatLocation(d: Diagnostic): string {
  const parts: string[] = [];
  let where = d.file ?? '';
  if (d.place?.line !== undefined) where += `:${d.place.line}:${d.place.column ?? 1}`;
  else if (d.place?.offset !== undefined) where += `@${d.place.offset}`;
  if (where) parts.push(where);
  if (d.recordIndex !== undefined) {
    parts.push(`record #${d.recordIndex}${d.recordId !== undefined ? ` (id ${JSON.stringify(d.recordId)})` : ''}`);
  }
  if (d.pointer) parts.push(d.pointer);
  return parts.join(' ');
}

/** One diagnostic as one line: `location  severity  message  [ruleId]`. */
export function formatDiagnostic(d: Diagnostic, options: Pick<ReportOptions, 'color'> = {}): string {
  const sev = paint(d.severity, d.severity, options.color);
  const location = formatLocation(d);
  return `${location ? `${location}  ` : ''}${sev}  ${d.message}  [${d.ruleId}]`;
}

/**
 * Render diagnostics as a human report, grouped by rule with counts: a heading per rule (`rule id — N × severity`,
 * its hint), then its diagnostics with their places and a short excerpt of the record.
 */
export function renderReport(diagnostics: Iterable<Diagnostic>, options: ReportOptions = {}): string {
  const groups = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    let group = groups.get(d.ruleId);
    if (!group) groups.set(d.ruleId, (group = []));
    group.push(d);
  }
  const ordered = [...groups.entries()].sort(
    ([a, da], [b, db]) => worst(da) - worst(db) || db.length - da.length || a.localeCompare(b),
  );
  const lines: string[] = [];
  for (const [ruleId, group] of ordered) {
    const bySeverity = countBy(group, (d) => d.severity);
    const counts = Object.entries(bySeverity)
      .map(([s, n]) => `${n} ${paint(s as Severity, n === 1 ? s : `${s}s`, options.color)}`)
      .join(', ');
    lines.push(`${bold(ruleId, options.color)}  ${counts}`);
    const hint = group[0]?.hint;
    if (hint) lines.push(`  hint: ${hint}`);
    const shown = options.maxPerRule === undefined ? group : group.slice(0, options.maxPerRule);
    for (const d of shown) {
      const location = formatLocation(d);
      lines.push(`  ${location ? `${location}  ` : ''}${d.message}`);
      if (d.excerpt) lines.push(`    | ${d.excerpt}`);
    }
    if (shown.length < group.length) lines.push(`  … and ${group.length - shown.length} more`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Count diagnostics per severity. */
export function summarize(diagnostics: Iterable<Diagnostic>): Record<Severity, number> {
  const out: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of diagnostics) out[d.severity]++;
  return out;
}

/**
 * Make a one-line excerpt of a text: newlines shown as `\n`, cut to `max` characters around `at` (a character
 * index) with `…` marks.
 */
export function excerpt(text: string, max = 100, at = 0): string {
  const start = Math.max(0, Math.min(at - Math.floor(max / 3), text.length - max));
  const slice = text
    .slice(start, start + max)
    .replaceAll('\r', '\\r')
    .replaceAll('\n', '\\n')
    .replaceAll('\t', '\\t');
  return `${start > 0 ? '…' : ''}${slice}${start + max < text.length ? '…' : ''}`;
}

function worst(group: Diagnostic[]): number {
  return Math.min(...group.map((d) => SEVERITY_ORDER[d.severity]));
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

const COLORS: Record<Severity, number> = { error: 31, warning: 33, info: 36 };
function paint(severity: Severity, text: string, color?: boolean): string {
  return color ? `\u001b[${COLORS[severity]}m${text}\u001b[39m` : text;
}
function bold(text: string, color?: boolean): string {
  return color ? `\u001b[1m${text}\u001b[22m` : text;
}
