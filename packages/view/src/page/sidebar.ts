// The sidebar: filters, search, the rules summary, and the status line.
import { $, fill, fmt, h } from './dom.js';
import { api, badge, FILTER_KEYS, go, meta, rerender, setMeta, state } from './state.js';
import type { Meta } from './types.js';

export function fillFilters(): void {
  const s = state();
  const rule = $<HTMLSelectElement>('f-rule');
  rule.replaceChildren(
    h('option', { value: '' }, 'any'),
    h('option', { value: 'any' }, 'any diagnostic'),
    ...meta.rules.map((r) => h('option', { value: r.ruleId }, `${r.ruleId} (${fmt(r.records)})`)),
  );
  const source = $<HTMLSelectElement>('f-source');
  source.replaceChildren(h('option', { value: '' }, 'any'), ...meta.sources.map((v) => h('option', { value: v }, v)));
  rule.value = s.get('rule') ?? '';
  source.value = s.get('source') ?? '';
  $<HTMLSelectElement>('f-severity').value = s.get('severity') ?? '';
  $<HTMLSelectElement>('f-images').value = s.get('hasImage') ?? '';
  const missing = $<HTMLInputElement>('f-missing');
  missing.checked = s.get('missing') === '1';
  missing.disabled = !meta.imagesChecked;
  missing.parentElement!.title = meta.imagesChecked ? '' : 'Give image sources (--images) to audit the images.';
  $<HTMLInputElement>('f-min').value = s.get('minTokens') ?? '';
  $<HTMLInputElement>('f-max').value = s.get('maxTokens') ?? '';
  $<HTMLInputElement>('q').value = s.get('q') ?? '';
}

export function wireFilters(): void {
  const on = (id: string, key: string, value: () => string) =>
    $(id).addEventListener('change', () => go({ [key]: value(), page: null, from: null, r: null }));
  on('f-rule', 'rule', () => $<HTMLSelectElement>('f-rule').value);
  on('f-severity', 'severity', () => $<HTMLSelectElement>('f-severity').value);
  on('f-source', 'source', () => $<HTMLSelectElement>('f-source').value);
  on('f-images', 'hasImage', () => $<HTMLSelectElement>('f-images').value);
  on('f-missing', 'missing', () => ($<HTMLInputElement>('f-missing').checked ? '1' : ''));
  on('f-min', 'minTokens', () => $<HTMLInputElement>('f-min').value);
  on('f-max', 'maxTokens', () => $<HTMLInputElement>('f-max').value);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    go({ q: $<HTMLInputElement>('q').value.trim(), page: null, from: null, r: null });
  });
  $('clear').addEventListener('click', () => {
    const clear: Record<string, null> = { page: null, q: null, from: null, r: null };
    for (const k of FILTER_KEYS) clear[k] = null;
    go(clear);
  });
  $('copy').addEventListener('click', async () => {
    const link = `${location.origin}/${location.hash}`;
    try {
      await navigator.clipboard.writeText(link);
      flash('Link copied');
    } catch {
      flash(link);
    }
  });
  $('tab-records').addEventListener('click', () => go({ tab: null }));
  $('tab-stats').addEventListener('click', () => go({ tab: 'stats', r: null }));
  $('scrim').addEventListener('click', () => go({ r: null }));
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const s = state();
    if (e.key === 'Escape' && s.get('r')) go({ r: null });
    if (s.get('r') && (e.key === 'j' || e.key === 'ArrowDown'))
      $('record').querySelector<HTMLButtonElement>('.next')?.click();
    if (s.get('r') && (e.key === 'k' || e.key === 'ArrowUp'))
      $('record').querySelector<HTMLButtonElement>('.prev')?.click();
  });
  window.addEventListener('hashchange', () => void rerender());
}

export function rulesSummary(): void {
  const box = $('rules-summary');
  if (meta.rules.length === 0) {
    box.replaceChildren(h('h2', {}, 'Diagnostics'), h('p', { class: 'muted' }, 'No diagnostics. Every record passes.'));
    return;
  }
  fill(
    box,
    h('h2', {}, 'Diagnostics'),
    h(
      'ul',
      {},
      ...meta.rules.map((r) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'rule-link',
              title: r.hint ?? r.title,
              onclick: () => go({ rule: r.ruleId, page: null, from: null, r: null, tab: null }),
            },
            badge(r.ruleId, r.severity),
            h('span', { class: 'rule-count' }, fmt(r.records)),
          ),
        ),
      ),
    ),
    meta.fileDiagnostics.length > 0
      ? h(
          'div',
          { class: 'file-diags' },
          h('h3', {}, 'About whole files'),
          ...meta.fileDiagnostics
            .slice(0, 8)
            .map((d) => h('p', { class: `diag ${d.severity}` }, badge(d.ruleId, d.severity), ' ', d.message)),
        )
      : null,
  );
}

export function flash(text: string): void {
  const status = $('status');
  status.textContent = text;
  setTimeout(() => void updateStatus(), 2500);
}

export async function updateStatus(): Promise<void> {
  const status = $('status');
  if (meta.tokensDone) {
    status.textContent = `${fmt(meta.records)} records · tokens: ${meta.tokenizer}`;
    return;
  }
  const pct = meta.records ? Math.floor((100 * meta.tokensCounted) / meta.records) : 100;
  status.textContent = `${fmt(meta.records)} records · counting ${meta.tokenizer} tokens ${pct}%`;
  setTimeout(async () => {
    try {
      setMeta(await api<Meta>('/api/meta'));
    } catch {
      return;
    }
    void updateStatus();
  }, 2000);
}
