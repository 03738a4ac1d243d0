// The records table: rows, the pager, and search results.
import { $, fmt, h, highlightTokens, SEVERITY } from './dom.js';
import { api, badge, filterParams, go, meta } from './state.js';
import type { Row } from './types.js';

function rowElement(row: Row): HTMLElement {
  return h(
    'tr',
    {
      'data-n': row.n,
      class: row.worst ? `sev-${SEVERITY[row.worst]}` : undefined,
      tabindex: 0,
      onclick: () => go({ r: row.n }),
      onkeydown: (e: KeyboardEvent) => e.key === 'Enter' && go({ r: row.n }),
    },
    h('td', { class: 'num' }, meta.files.length > 1 ? `${row.file}:${row.index}` : row.index),
    h('td', { class: 'id' }, row.id === null ? h('span', { class: 'muted' }, '—') : String(row.id)),
    h('td', {}, h('span', { class: 'source' }, row.source)),
    h('td', { class: 'num' }, row.turns),
    h('td', { class: 'num' }, row.images || h('span', { class: 'muted' }, '0')),
    h('td', { class: 'num' }, fmt(row.tokens)),
    h('td', { class: 'badges' }, ...row.rules.map((r) => badge(r))),
    h('td', { class: 'preview' }, ...highlightTokens(row.preview)),
  );
}

function pager(page: number, pages: number, total: number): HTMLElement {
  const button = (label: string, to: number, disabled: boolean, cls: string) =>
    h('button', { type: 'button', class: cls, disabled, onclick: () => go({ page: to }) }, label);
  const jump = h('input', {
    type: 'number',
    min: 1,
    max: pages,
    value: page,
    class: 'jump',
    'aria-label': 'Page',
  }) as HTMLInputElement;
  jump.addEventListener('change', () => go({ page: Math.max(1, Math.min(pages, Number(jump.value) || 1)) }));
  return h(
    'div',
    { class: 'pager-inner' },
    button('« First', 1, page <= 1, 'first'),
    button('‹ Previous', page - 1, page <= 1, 'prev-page'),
    h('span', { class: 'page-of' }, 'Page ', jump, ` of ${fmt(pages)}`),
    button('Next ›', page + 1, page >= pages, 'next-page'),
    button('Last »', pages, page >= pages, 'last'),
    h('span', { class: 'muted' }, `${fmt(total)} records`),
  );
}

export async function renderTable(s: URLSearchParams): Promise<void> {
  const q = s.get('q');
  const rowsBody = $('rows');
  const params = filterParams(s);
  if (q) {
    params.set('q', q);
    params.set('from', s.get('from') ?? '0');
    const found = await api<{ rows: Row[]; next: number; done: boolean; scanned: number; total: number }>(
      '/api/search',
      params,
    );
    rowsBody.replaceChildren(...found.rows.map(rowElement));
    if (found.rows.length === 0)
      rowsBody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, `No record contains “${q}” here.`)));
    const from = Number(s.get('from') ?? '0');
    $('count').textContent =
      `“${q}”: ${found.rows.length} found in records ${fmt(from + 1)}–${fmt(found.next)} of ${fmt(found.total)}`;
    $('pager').replaceChildren(
      h(
        'div',
        { class: 'pager-inner' },
        from > 0 ? h('button', { type: 'button', onclick: () => go({ from: null }) }, '« From the start') : null,
        found.done
          ? h('span', { class: 'muted' }, 'Searched to the end.')
          : h(
              'button',
              { type: 'button', class: 'search-more', onclick: () => go({ from: found.next }) },
              'Search further ›',
            ),
      ),
    );
    return;
  }
  params.set('page', s.get('page') ?? '1');
  params.set('size', String(meta.pageSize));
  const data = await api<{ total: number; page: number; pages: number; rows: Row[] }>('/api/rows', params);
  rowsBody.replaceChildren(...data.rows.map(rowElement));
  if (data.rows.length === 0)
    rowsBody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No record matches these filters.')));
  $('count').textContent = `${fmt(data.total)} of ${fmt(meta.records)} records`;
  $('pager').replaceChildren(pager(data.page, data.pages, data.total));
}
