import type { Diagnostic, Severity } from './diagnostic.js';

/** Options of {@link renderReport}. */
export interface ReportOptions {
  /** Show at most this many diagnostics per rule (the count still covers all). Default: unlimited. */
  readonly maxPerRule?: number;
  /** Use ANSI colours. Default: false. */
  readonly color?: boolean;
  /**
   * The full counts per rule and severity, when the caller kept only some of the diagnostics (streaming over a large
   * file): headings and `… and N more` then use these counts; rules with counts but no kept diagnostic still get
   * their heading.
   */
  readonly counts?: Readonly<Record<string, Partial<Record<Severity, number>>>>;
  /** Hints of the rules in `counts`, for rules whose diagnostics were all dropped. */
  readonly hints?: Readonly<Record<string, string>>;
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
  const tallies = new Map<string, Partial<Record<Severity, number>>>();
  for (const [ruleId, group] of groups)
    tallies.set(
      ruleId,
      countBy(group, (d) => d.severity),
    );
  if (options.counts) for (const [ruleId, counts] of Object.entries(options.counts)) tallies.set(ruleId, counts);
  const total = (ruleId: string) => Object.values(tallies.get(ruleId) ?? {}).reduce((a, b) => a + (b ?? 0), 0);
  const worstOf = (ruleId: string) =>
    Math.min(
      ...(Object.entries(tallies.get(ruleId) ?? {}) as [Severity, number][])
        .filter(([, n]) => n > 0)
        .map(([s]) => SEVERITY_ORDER[s]),
    );
  const ordered = [...tallies.keys()]
    .filter((ruleId) => total(ruleId) > 0)
    .sort((a, b) => worstOf(a) - worstOf(b) || total(b) - total(a) || a.localeCompare(b));
  const lines: string[] = [];
  for (const ruleId of ordered) {
    const group = groups.get(ruleId) ?? [];
    const counts = (Object.entries(tallies.get(ruleId) ?? {}) as [Severity, number][])
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => SEVERITY_ORDER[a] - SEVERITY_ORDER[b])
      .map(([s, n]) => `${n} ${paint(s, n === 1 ? s : `${s}s`, options.color)}`)
      .join(', ');
    lines.push(`${bold(ruleId, options.color)}  ${counts}`);
    const hint = group[0]?.hint ?? options.hints?.[ruleId];
    if (hint) lines.push(`  hint: ${hint}`);
    // most severe first (stable: file order within a severity)
    const sorted = group.some((d) => d.severity !== group[0]!.severity)
      ? [...group].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
      : group;
    const shown = options.maxPerRule === undefined ? sorted : sorted.slice(0, options.maxPerRule);
    for (const d of shown) {
      const location = formatLocation(d);
      lines.push(`  ${location ? `${location}  ` : ''}${d.message}`);
      if (d.excerpt) lines.push(`    | ${d.excerpt}`);
    }
    const more = total(ruleId) - shown.length;
    if (more > 0) lines.push(`  … and ${more} more`);
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

function countBy<T, K extends string>(items: T[], key: (item: T) => K): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
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
