// The viewer page: vanilla TypeScript, no dependencies, ES modules served by the viewer itself. Every piece of data
// is put in the DOM as text (never as HTML): records are untrusted input. The place (tab, filters, page, search,
// record, template) lives in the URL hash.
import { $, fmt, h, kb } from './dom.js';
import { renderRecord } from './record.js';
import { fillFilters, rulesSummary, updateStatus, wireFilters } from './sidebar.js';
import { api, meta, onPlaceChange, setMeta, state } from './state.js';
import { renderStats } from './stats.js';
import { renderTable } from './table.js';
import type { Meta } from './types.js';

let rendering = 0;
async function render(): Promise<void> {
  const ticket = ++rendering;
  const s = state();
  fillFilters();
  const stats = s.get('tab') === 'stats';
  $('tab-records').classList.toggle('active', !stats);
  $('tab-stats').classList.toggle('active', stats);
  $('records').hidden = stats;
  $('stats').hidden = !stats;
  document.body.classList.toggle('with-record', s.get('r') !== null);
  try {
    if (stats) await renderStats(s);
    else await renderTable(s);
    if (ticket !== rendering) return;
    await renderRecord(s);
    document.body.dataset.ready = String(ticket);
  } catch (error) {
    $('count').textContent = `Error: ${(error as Error).message}`;
  }
}

async function main(): Promise<void> {
  setMeta(await api<Meta>('/api/meta'));
  onPlaceChange(render);
  $('files').replaceChildren(
    ...meta.files.map((f) =>
      h(
        'span',
        { class: 'file', title: `${f.kind} · ${kb(f.size)}` },
        f.name,
        h('span', { class: 'muted' }, ` ${fmt(f.records)}`),
      ),
    ),
  );
  document.title = `${meta.files.map((f) => f.name).join(', ')} · llava view`;
  wireFilters();
  rulesSummary();
  void updateStatus();
  await render();
}

void main();
