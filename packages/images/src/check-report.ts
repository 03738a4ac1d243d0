/** How an {@link ImagesReport} is shown: a table and grouped diagnostics for people, streamed JSON for machines. */
import { renderReport } from '@llavakit/diagnostics';
import type { ImagesReport, RuleCounts } from './check-files.js';
import type { ImageCounts, PrefixReport } from './status.js';

/** Options of {@link renderImagesReport}. */
export interface RenderImagesReportOptions {
  /** The report's counts by rule (from `checkImageFiles`), to say how many diagnostics each rule had in all. */
  readonly ruleCounts?: RuleCounts;
  /** Diagnostics shown per rule (`0`: all). Default 0. */
  readonly maxPerRule?: number;
  /** The missing list written, named in the last line. */
  readonly listFile?: string;
}

const HEADER = [
  'prefix',
  'refs',
  'distinct',
  'ok',
  'missing',
  'not-image',
  'mismatch',
  'truncated',
  'refused',
  'unreadable',
  'formats',
  'width',
  'height',
] as const;

/**
 * The text report of an image check: a line of totals, one table row per prefix (and a total row when there is not
 * exactly one), the diagnostics grouped by rule, and a closing line. Lines end with `\n`.
 */
export function renderImagesReport(report: ImagesReport, options: RenderImagesReportOptions = {}): string {
  const maxPerRule = options.maxPerRule ?? 0;
  const { total } = report;
  const n = (v: number) => v.toLocaleString('en-US');
  const lines: string[] = [];
  lines.push(
    `Checked ${n(total.references)} image references (${n(total.distinct)} distinct) from ${report.inputs.length} file${report.inputs.length === 1 ? '' : 's'} in ${report.seconds.toFixed(1)} s.`,
  );
  lines.push('');
  const rows: string[][] = [[...HEADER]];
  const row = (name: string, r: (ImageCounts & { distinct: number }) & Partial<PrefixReport>) => [
    name,
    n(r.references),
    n(r.distinct),
    n(r.ok),
    n(r.missing),
    n(r.notImage),
    n(r.formatMismatch),
    n(r.truncated),
    n(r.refused),
    n(r.unreadable),
    r.formats
      ? Object.entries(r.formats)
          .map(([f, c]) => `${f} ${n(c ?? 0)}`)
          .join(', ')
      : '',
    range(r.width),
    range(r.height),
  ];
  for (const [name, prefix] of Object.entries(report.byPrefix)) rows.push(row(name, prefix));
  if (Object.keys(report.byPrefix).length !== 1) rows.push(row('total', total));
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) {
    lines.push(
      r
        .map((cell, c) => (c === 0 || c >= 10 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    );
  }
  lines.push('');
  if (report.diagnostics.length > 0) {
    const counts = options.ruleCounts;
    lines.push(
      renderReport(report.diagnostics, maxPerRule > 0 ? { maxPerRule, ...(counts ? { counts } : {}) } : {}).trimEnd(),
    );
    lines.push('');
  }
  const { error, warning } = report.counts;
  const images = report.problems.length;
  lines.push(
    report.diagnostics.length === 0
      ? 'All images found and sound.'
      : `${n(error)} error${error === 1 ? '' : 's'}, ${n(warning)} warning${warning === 1 ? '' : 's'} in ${n(images)} image${images === 1 ? '' : 's'}.${options.listFile ? ` List written to ${options.listFile}.` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function range(r: { min: number; max: number } | undefined): string {
  if (!r) return '';
  return r.min === r.max ? String(r.min) : `${r.min}–${r.max}`;
}

/**
 * Write a report as pretty JSON (two-space indent, as `JSON.stringify(report, null, 2)` would), the `diagnostics`
 * list one element at a time with back-pressure, so that memory is bounded by the objects, never by one string (a
 * `JSON.stringify` of 300,000 diagnostics runs out of memory).
 */
export async function writeImagesReportJson(report: ImagesReport, stream: NodeJS.WritableStream): Promise<void> {
  const { diagnostics, ...rest } = report;
  let pending = '';
  const flush = async () => {
    const text = pending;
    pending = '';
    if (text && !stream.write(text)) await new Promise((resolve) => stream.once('drain', resolve));
  };
  const push = async (text: string) => {
    pending += text;
    if (pending.length >= 1 << 16) await flush();
  };
  await push('{\n');
  for (const [key, value] of Object.entries(rest)) {
    await push(`  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')},\n`);
  }
  await push('  "diagnostics": [');
  for (let i = 0; i < diagnostics.length; i++) {
    await push(`${i === 0 ? '' : ','}\n    ${JSON.stringify(diagnostics[i], null, 2).replaceAll('\n', '\n    ')}`);
  }
  await push(diagnostics.length > 0 ? '\n  ]\n}\n' : ']\n}\n');
  await flush();
}
