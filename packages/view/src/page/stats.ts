// The stats panel: cards, bars per source and rule, histograms of turns and tokens.
import { $, fmt, h } from './dom.js';
import { api, filterParams, go, meta, ruleSeverity } from './state.js';
import type { Bucket, Stats } from './types.js';

function bars(
  items: { label: string; value: number; sub?: string; cls?: string; onclick?: () => void }[],
  cls = '',
): HTMLElement {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h(
    'div',
    { class: `bars ${cls}` },
    ...items.map((i) =>
      h(
        i.onclick ? 'button' : 'div',
        { class: `bar-row ${i.cls ?? ''}`, type: i.onclick ? 'button' : undefined, onclick: i.onclick },
        h('span', { class: 'bar-label' }, i.label),
        h(
          'span',
          { class: 'bar-track' },
          h('span', { class: 'bar', style: `width:${((100 * i.value) / max).toFixed(2)}%` }),
        ),
        h('span', { class: 'bar-value' }, fmt(i.value), i.sub ? h('span', { class: 'muted' }, ` ${i.sub}`) : null),
      ),
    ),
  );
}

function histogram(buckets: Bucket[], label: (b: Bucket) => string): HTMLElement {
  const max = Math.max(1, ...buckets.map((b) => b.count));
  return h(
    'div',
    { class: 'histogram' },
    ...buckets.map((b) =>
      h(
        'div',
        { class: 'col', title: `${label(b)}: ${fmt(b.count)}` },
        h('span', { class: 'col-value' }, b.count ? fmt(b.count) : ''),
        h('span', { class: 'col-bar', style: `height:${((100 * b.count) / max).toFixed(2)}%` }),
        h('span', { class: 'col-label' }, label(b)),
      ),
    ),
  );
}

export async function renderStats(s: URLSearchParams): Promise<void> {
  const stats = await api<Stats>('/api/stats', filterParams(s));
  const k = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024}k` : String(n));
  const range = (b: Bucket) =>
    b.to === null
      ? `${k(b.from)}+`
      : b.to - b.from === 1
        ? String(b.from)
        : b.to >= 1024
          ? `${k(b.from)}–${k(b.to)}`
          : `${b.from}–${b.to - 1}`;
  const card = (label: string, value: string, sub?: string) =>
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'card-value' }, value),
      h('div', { class: 'card-label' }, label),
      sub ? h('div', { class: 'muted' }, sub) : null,
    );
  const pct = (n: number) => (stats.records ? `${((100 * n) / stats.records).toFixed(1)}%` : '');
  $('stats').replaceChildren(
    h(
      'div',
      { class: 'cards' },
      card('records', fmt(stats.records)),
      card('with images', fmt(stats.withImages), pct(stats.withImages)),
      card('text-only', fmt(stats.textOnly), pct(stats.textOnly)),
      card('with diagnostics', fmt(stats.withDiagnostics), pct(stats.withDiagnostics)),
      card(
        `${meta.tokenizer} text tokens`,
        fmt(stats.tokenSum),
        stats.tokensCounted < stats.records
          ? `counted ${fmt(stats.tokensCounted)} records so far`
          : `mean ${stats.records ? fmt(Math.round(stats.tokenSum / stats.records)) : 0} per record`,
      ),
    ),
    h(
      'div',
      { class: 'panels' },
      h(
        'section',
        { class: 'panel' },
        h('h3', {}, 'Records per source'),
        bars(
          stats.bySource.map((x) => ({
            label: x.source,
            value: x.records,
            sub: pct(x.records),
            onclick: () => go({ source: x.source, tab: null, page: null }),
          })),
        ),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h3', {}, 'Records per rule'),
        stats.byRule.length
          ? bars(
              stats.byRule.map((x) => ({
                label: x.ruleId,
                value: x.records,
                cls: ruleSeverity.get(x.ruleId) ?? 'error',
                onclick: () => go({ rule: x.ruleId, tab: null, page: null }),
              })),
              'rules',
            )
          : h('p', { class: 'muted' }, 'No diagnostics.'),
      ),
      h('section', { class: 'panel' }, h('h3', {}, 'Turns per record'), histogram(stats.turns, range)),
      h('section', { class: 'panel' }, h('h3', {}, 'Text tokens per record'), histogram(stats.tokens, range)),
    ),
  );
  $('count').textContent = `stats of ${fmt(stats.records)} of ${fmt(meta.records)} records`;
}
