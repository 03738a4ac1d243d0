import { openTextSink } from '@llavakit/convert';
import type { HistogramBucket } from './histogram.js';
import type { StatsResult } from './stats.js';

const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en'));

/** An SVG bar chart of vertical bars (histogram). */
function histogramSvg(
  title: string,
  buckets: readonly HistogramBucket[],
  unit: string,
  markers: readonly { readonly label: string; readonly value: number | null }[] = [],
): string {
  const width = 720;
  const height = 240;
  const pad = { left: 56, right: 12, top: markers.length > 0 ? 48 : 28, bottom: 40 };
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const w = (width - pad.left - pad.right) / Math.max(1, buckets.length);
  const bars = buckets
    .map((b, i) => {
      const h = ((height - pad.top - pad.bottom) * b.count) / max;
      const label = b.to - b.from === 1 ? `${b.from}` : `${b.from}–${b.to - 1}`;
      return `<rect class="bar" x="${(pad.left + i * w + 1).toFixed(1)}" y="${(height - pad.bottom - h).toFixed(1)}" width="${Math.max(1, w - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(label)} ${unit}: ${fmt(b.count)}</title></rect>`;
    })
    .join('');
  const first = buckets[0];
  const last = buckets.at(-1);
  const span = first && last ? last.to - first.from : 0;
  const marks = markers
    .filter((m) => m.value !== null && span > 0)
    .map((m, i) => {
      // Labels stagger downwards so close percentiles stay readable.
      const x = pad.left + ((width - pad.left - pad.right) * (m.value! - first!.from)) / span;
      const y = 12 + i * 12;
      return `<line class="marker" x1="${x.toFixed(1)}" y1="${y + 2}" x2="${x.toFixed(1)}" y2="${height - pad.bottom}"/><text class="marker" x="${(x + 3).toFixed(1)}" y="${y}">${esc(m.label)} ${fmt(m.value)}</text>`;
    })
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" class="axis"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" class="axis"/>
<text x="${pad.left - 6}" y="${pad.top + 4}" text-anchor="end">${fmt(max)}</text><text x="${pad.left - 6}" y="${height - pad.bottom}" text-anchor="end">0</text>
${bars}${marks}
<text x="${pad.left}" y="${height - pad.bottom + 16}">${first ? fmt(first.from) : ''}</text>
<text x="${width - pad.right}" y="${height - pad.bottom + 16}" text-anchor="end">${last ? fmt(last.to) : ''}</text>
<text x="${(width + pad.left) / 2}" y="${height - 6}" text-anchor="middle">${esc(unit)}</text>
</svg></figure>`;
}

/** An SVG chart of horizontal bars, one per source. */
function sourcesSvg(sources: StatsResult['sources']): string {
  const rows = Object.entries(sources).sort((a, b) => b[1].records - a[1].records);
  const width = 720;
  const rowHeight = 26;
  const left = 140;
  const height = 20 + rows.length * rowHeight;
  const max = Math.max(1, ...rows.map(([, s]) => s.records));
  const bars = rows
    .map(([name, s], i) => {
      const y = 10 + i * rowHeight;
      const w = ((width - left - 110) * s.records) / max;
      return `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(name)}</text><rect class="bar source" x="${left}" y="${y + 3}" width="${Math.max(1, w).toFixed(1)}" height="${rowHeight - 8}"><title>${esc(name)}: ${fmt(s.records)} records, ${fmt(s.images)} images</title></rect><text x="${left + w + 6}" y="${y + 16}">${fmt(s.records)}</text>`;
    })
    .join('');
  return `<figure><figcaption>Records per source</figcaption><svg role="img" aria-label="Records per source" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${bars}</svg></figure>`;
}

/**
 * A self-contained HTML report of a stats result: summary tables and inline SVG charts (token and turn
 * histograms, a bar per source). No script, no external resource: it opens offline.
 */
export function renderStatsHtml(stats: StatsResult, title = 'llavakit stats'): string {
  const t = stats.tokens;
  const turnBuckets = Object.entries(stats.turns.counts).map(([v, count]) => ({
    from: Number(v),
    to: Number(v) + 1,
    count,
  }));
  const sourceRows = Object.entries(stats.sources)
    .sort((a, b) => b[1].records - a[1].records)
    .map(
      ([name, s]) =>
        `<tr><td>${esc(name)}</td><td>${fmt(s.records)}</td><td>${fmt(s.textOnly)}</td><td>${fmt(s.images)}</td></tr>`,
    )
    .join('');
  const inputs = stats.inputs
    .map(
      (i) => `<li><code>${esc(i.file)}</code> (${esc(i.format)}, ${fmt(i.read)} read, ${fmt(i.invalid)} invalid)</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:780px;color:#1d2433;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #e3e6ec;text-align:right}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}svg text{font-size:11px;fill:#4a5368}.axis{stroke:#9aa3b5}.bar{fill:#3d6fd8}.bar.source{fill:#2f9e77}line.marker{stroke:#c2410c;stroke-dasharray:3 3}text.marker{fill:#c2410c}
code{font-size:12px}
</style></head><body>
<h1>${esc(title)}</h1>
<ul>${inputs}</ul>
<table><tbody>
<tr><td>records</td><td>${fmt(stats.records)}</td></tr>
<tr><td>invalid elements</td><td>${fmt(stats.invalid)}</td></tr>
<tr><td>text-only</td><td>${fmt(stats.textOnly)} (${(stats.textOnlyShare * 100).toFixed(2)}%)</td></tr>
<tr><td>images</td><td>${fmt(stats.images)}</td></tr>
<tr><td>duplicate ids</td><td>${fmt(stats.duplicates.ids)}</td></tr>
<tr><td>duplicate conversations</td><td>${fmt(stats.duplicates.conversations)}</td></tr>
${t ? `<tr><td>tokens p50 / p90 / p99 / max</td><td>${fmt(t.p50)} / ${fmt(t.p90)} / ${fmt(t.p99)} / ${fmt(t.max)}</td></tr><tr><td>model, template</td><td>${esc(t.model)}, ${esc(t.template ?? 'none')}</td></tr>` : ''}
</tbody></table>
<h2>Tokens</h2>
${
  t
    ? histogramSvg(
        `Tokens per record (${t.model}${t.template ? `, template ${t.template}` : ''})`,
        t.histogram,
        'tokens',
        [
          { label: 'p50', value: t.p50 },
          { label: 'p90', value: t.p90 },
          { label: 'p99', value: t.p99 },
        ],
      )
    : '<p>Tokens were not counted.</p>'
}
<h2>Turns</h2>
${histogramSvg('Turns per record', turnBuckets, 'turns')}
<h2>Sources</h2>
${sourcesSvg(stats.sources)}
<table><thead><tr><th>source</th><th>records</th><th>text-only</th><th>images</th></tr></thead><tbody>${sourceRows}</tbody></table>
</body></html>
`;
}

/** Write the HTML report atomically. */
export async function writeStatsHtml(path: string, stats: StatsResult, title?: string): Promise<void> {
  const sink = await openTextSink(path);
  await sink.write(renderStatsHtml(stats, title));
  await sink.close();
}

/**
 * The text summary of a stats result (what `llava stats` prints without `--json`): records, sources, turns, images,
 * `<image>` placement, duplicates and token lengths, one topic a line; `html` names the report written beside it.
 */
export function renderStatsSummary(s: StatsResult, html?: string): string {
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toLocaleString('en'));
  const pct = (part: number) => (s.records ? `${((part / s.records) * 100).toFixed(1)}%` : '–');
  const lines = [
    `${n(s.records)} records${
      s.invalid
        ? `, ${n(s.invalid)} invalid (${Object.entries(s.invalidByRule)
            .map(([r, c]) => `${r}: ${c}`)
            .join(', ')})`
        : ''
    }, ${n(s.textOnly)} text-only (${pct(s.textOnly)}), ${n(s.images)} images`,
    '  sources:',
  ];
  const width = Math.max(8, ...Object.keys(s.sources).map((k) => k.length));
  for (const [name, src] of Object.entries(s.sources).sort((a, b) => b[1].records - a[1].records)) {
    lines.push(`    ${name.padEnd(width)}  ${n(src.records).padStart(10)}  ${pct(src.records).padStart(6)}`);
  }
  lines.push(`  turns: p50 ${n(s.turns.p50)}, max ${n(s.turns.max)}, mean ${n(s.turns.mean)}`);
  lines.push(
    `  images per record: ${Object.entries(s.imagesPerRecord)
      .map(([k, c]) => `${k}: ${n(c)}`)
      .join(', ')}`,
  );
  const p = s.imagePlacement;
  lines.push(
    `  <image> placement: start ${n(p.start)}, end ${n(p.end)}, middle ${n(p.middle)}, missing ${n(p.none)}, count mismatch ${n(p.mismatch)}`,
  );
  lines.push(
    `  duplicates: ${n(s.duplicates.ids)} ids, ${n(s.duplicates.conversations)} conversations${s.duplicates.scope === 'per-shard' ? ' (within shards)' : ''}`,
  );
  if (s.tokens) {
    const t = s.tokens;
    lines.push(
      `  tokens (${t.model}${t.template ? `, template ${t.template}` : ''}): p50 ${n(t.p50)}, p90 ${n(t.p90)}, p99 ${n(t.p99)}, max ${n(t.max)}${t.unmeasurable ? `, ${n(t.unmeasurable)} unmeasurable` : ''}`,
    );
    lines.push(
      `    text p50 ${n(t.text.p50)}, image p50 ${n(t.image.p50)}, template overhead p50 ${n(t.overhead.p50)}`,
    );
  }
  if (html) lines.push(`  report: ${html}`);
  return lines.join('\n');
}
