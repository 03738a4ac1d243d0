// The viewer page: vanilla TypeScript, no dependencies. Every piece of data is put in the DOM as text (never as
// HTML): records are untrusted input. The place (tab, filters, page, search, record, template) lives in the URL hash.

interface Diagnostic {
  ruleId: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  hint?: string;
  pointer?: string;
  recordIndex?: number;
  place?: { offset?: number; line?: number; column?: number };
  file?: string;
}
interface Meta {
  files: { name: string; size: number; first: number; records: number; kind: string }[];
  records: number;
  sources: string[];
  rules: { ruleId: string; severity: Diagnostic['severity']; records: number; title: string; hint?: string }[];
  fileDiagnostics: Diagnostic[];
  templates: string[];
  tokenizer: string;
  tokensCounted: number;
  tokensDone: boolean;
  imagesChecked: boolean;
  pageSize: number;
}
interface Row {
  n: number;
  file: string;
  index: number;
  id: string | number | null;
  source: string;
  turns: number;
  images: number;
  tokens: number;
  worst: number;
  rules: string[];
  preview: string;
}
interface ImageView {
  slot: number;
  ref: string;
  status: 'found' | 'missing' | 'refused' | 'broken' | 'unchecked';
  format?: string;
  width?: number;
  height?: number;
  bytes?: number;
  location?: 'file' | 'zip' | 'embedded';
  diagnostics: Diagnostic[];
}
interface RecordView {
  row: Row;
  offset: number;
  length: number;
  where?: string;
  text: string;
  value: unknown;
  parseError?: string;
  diagnostics: Diagnostic[];
  images: ImageView[];
  template: string;
  rendered?: string;
  renderError?: Diagnostic;
  previous: number | null;
  next: number | null;
  position: number;
  total: number;
}
interface Bucket {
  from: number;
  to: number | null;
  count: number;
}
interface Stats {
  records: number;
  withImages: number;
  textOnly: number;
  withDiagnostics: number;
  bySource: { source: string; records: number; images: number }[];
  turns: Bucket[];
  tokens: Bucket[];
  tokensCounted: number;
  tokenSum: number;
  byRule: { ruleId: string; records: number }[];
}

type Child = Node | string | number | null | undefined | false;

/** Make an element; attributes are set as attributes (`class`, `data-*`, …) or properties for `on*` handlers. */
function h(tag: string, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    // through the CSSOM: the page's CSP allows no inline style attributes
    else if (k === 'style') el.style.cssText = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** `replaceChildren` that skips empty children. */
function fill(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : String(c))),
  );
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const fmt = (n: number) => n.toLocaleString('en');
const SEVERITY = ['', 'info', 'warning', 'error'] as const;
const FILTER_KEYS = ['rule', 'severity', 'source', 'hasImage', 'missing', 'minTokens', 'maxTokens'] as const;

let meta: Meta;
let ruleSeverity = new Map<string, Diagnostic['severity']>();

async function api<T>(path: string, params: URLSearchParams = new URLSearchParams()): Promise<T> {
  const response = await fetch(`${path}?${params}`, { credentials: 'same-origin' });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

// ---------- the place, in the hash ----------

function state(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

function go(changes: Record<string, string | number | null | undefined>, replace = false): void {
  const s = state();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') s.delete(k);
    else s.set(k, String(v));
  }
  const hash = `#${s.toString()}`;
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  void render();
}

function filterParams(s = state()): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = s.get(k);
    if (v !== null && v !== '') p.set(k, v);
  }
  return p;
}

// ---------- badges ----------

function badge(ruleId: string, severity?: Diagnostic['severity']): HTMLElement {
  const sev = severity ?? ruleSeverity.get(ruleId) ?? 'info';
  const rule = meta.rules.find((r) => r.ruleId === ruleId);
  return h('span', { class: `badge ${sev}`, title: rule ? `${rule.title} (${sev})` : ruleId }, ruleId);
}

function highlightTokens(text: string): Node[] {
  const out: Node[] = [];
  for (const part of text.split(/(<image>|<video>)/)) {
    if (part === '<image>' || part === '<video>') out.push(h('span', { class: 'media-token' }, part));
    else if (part) out.push(document.createTextNode(part));
  }
  return out;
}

// ---------- sidebar ----------

function fillFilters(): void {
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

function wireFilters(): void {
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
  window.addEventListener('hashchange', () => void render());
}

function rulesSummary(): void {
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

function flash(text: string): void {
  const status = $('status');
  status.textContent = text;
  setTimeout(() => void updateStatus(), 2500);
}

async function updateStatus(): Promise<void> {
  const status = $('status');
  if (meta.tokensDone) {
    status.textContent = `${fmt(meta.records)} records · tokens: ${meta.tokenizer}`;
    return;
  }
  const pct = meta.records ? Math.floor((100 * meta.tokensCounted) / meta.records) : 100;
  status.textContent = `${fmt(meta.records)} records · counting ${meta.tokenizer} tokens ${pct}%`;
  setTimeout(async () => {
    try {
      meta = await api<Meta>('/api/meta');
    } catch {
      return;
    }
    void updateStatus();
  }, 2000);
}

// ---------- table ----------

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

async function renderTable(s: URLSearchParams): Promise<void> {
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

// ---------- record ----------

/** Pretty JSON as DOM, each value in a span with its JSON pointer (for highlighting diagnostics). */
function jsonNode(value: unknown, pointer: string, indent: string): Node {
  const span = (cls: string, text: string) => h('span', { class: cls, 'data-pointer': pointer }, text);
  if (value === null) return span('j-null', 'null');
  if (typeof value === 'string') return span('j-str', JSON.stringify(value));
  if (typeof value === 'number') return span('j-num', String(value));
  if (typeof value === 'boolean') return span('j-bool', String(value));
  const inner = `${indent}  `;
  const box = h('span', { class: 'j-box', 'data-pointer': pointer });
  const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  if (Array.isArray(value)) {
    if (value.length === 0) return span('j-box', '[]');
    box.append('[\n');
    value.forEach((item, i) => {
      box.append(inner, jsonNode(item, `${pointer}/${i}`, inner), i < value.length - 1 ? ',\n' : '\n');
    });
    box.append(`${indent}]`);
    return box;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return span('j-box', '{}');
  box.append('{\n');
  entries.forEach(([k, v], i) => {
    box.append(
      inner,
      h('span', { class: 'j-key' }, JSON.stringify(k)),
      ': ',
      jsonNode(v, `${pointer}/${esc(k)}`, inner),
      i < entries.length - 1 ? ',\n' : '\n',
    );
  });
  box.append(`${indent}}`);
  return box;
}

/** The element of the deepest existing value a pointer names (a missing key highlights its parent). */
function pointerTarget(root: HTMLElement, pointer: string): HTMLElement | null {
  let p = pointer;
  for (;;) {
    const el = root.querySelector<HTMLElement>(`[data-pointer="${CSS.escape(p)}"]`);
    if (el || p === '') return el;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

function imageCard(view: RecordView, image: ImageView): HTMLElement {
  const facts = [
    image.format ? image.format.toUpperCase() : null,
    image.width && image.height ? `${image.width}×${image.height}` : null,
    image.bytes !== undefined ? kb(image.bytes) : null,
    image.location === 'zip' ? 'in zip' : image.location === 'embedded' ? 'embedded' : null,
  ].filter(Boolean);
  const placeholder = (why: string) =>
    h('div', { class: 'placeholder' }, h('span', { class: 'ph-icon', 'aria-hidden': 'true' }), why);
  let picture: HTMLElement;
  if (image.status === 'found') {
    picture = h('img', { src: `/api/image?n=${view.row.n}&slot=${image.slot}`, alt: image.ref, loading: 'lazy' });
    picture.addEventListener('error', () => picture.replaceWith(placeholder('could not be decoded')));
  } else {
    const why = {
      missing: 'missing',
      refused: 'refused',
      broken: 'not a readable image',
      unchecked: 'not looked up (no --images)',
    }[image.status];
    picture = placeholder(why);
  }
  return h(
    'figure',
    { class: `image ${image.status}` },
    picture,
    h(
      'figcaption',
      {},
      h('code', { class: 'ref' }, image.ref),
      h('span', { class: 'facts' }, facts.join(' · ') || image.status),
      ...image.diagnostics.map((d) =>
        h('span', { class: `diag ${d.severity}` }, badge(d.ruleId, d.severity), ' ', d.message),
      ),
    ),
  );
}

function kb(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function chat(value: unknown): HTMLElement {
  const turns = (value as { conversations?: unknown } | null)?.conversations;
  if (!Array.isArray(turns)) return h('p', { class: 'muted' }, 'No conversation.');
  return h(
    'div',
    { class: 'chat' },
    ...turns.map((t, i) => {
      const from = typeof t?.from === 'string' ? t.from : '?';
      const text = typeof t?.value === 'string' ? t.value : JSON.stringify(t?.value);
      const side =
        from === 'human' || from === 'user' ? 'human' : from === 'gpt' || from === 'assistant' ? 'gpt' : 'other';
      return h(
        'div',
        { class: `turn ${side}`, 'data-pointer': `/conversations/${i}` },
        h('div', { class: 'who' }, from, h('span', { class: 'muted' }, ` #${i}`)),
        h('div', { class: 'bubble' }, ...highlightTokens(text)),
      );
    }),
  );
}

async function renderRecord(s: URLSearchParams): Promise<void> {
  const panel = $('record');
  const n = s.get('r');
  if (n === null) {
    panel.hidden = true;
    $('scrim').hidden = true;
    return;
  }
  const params = filterParams(s);
  params.set('n', n);
  params.set('template', s.get('tpl') ?? 'v1');
  let view: RecordView;
  try {
    view = await api<RecordView>('/api/record', params);
  } catch (error) {
    panel.replaceChildren(h('p', { class: 'diag error' }, (error as Error).message));
    panel.hidden = false;
    return;
  }
  const row = view.row;
  const json = h('pre', { class: 'json' });
  if (view.value !== null || !view.parseError) json.append(jsonNode(view.value, '', ''));
  else json.append(...brokenText(view));
  const templateSelect = h(
    'select',
    { 'aria-label': 'Template', class: 'template' },
    ...meta.templates.map((t) => h('option', { value: t }, t)),
  ) as HTMLSelectElement;
  templateSelect.value = view.template;
  templateSelect.addEventListener('change', () => go({ tpl: templateSelect.value }, true));
  const diags = view.diagnostics.map((d) =>
    h(
      'li',
      { class: `diag ${d.severity}`, onclick: () => focusPointer(json, d.pointer ?? '', d.severity) },
      badge(d.ruleId, d.severity),
      h('span', { class: 'msg' }, d.message),
      d.pointer !== undefined ? h('code', { class: 'pointer' }, d.pointer || '/') : null,
      d.hint ? h('div', { class: 'hint' }, d.hint) : null,
    ),
  );
  fill(
    panel,
    h(
      'header',
      { class: 'record-head' },
      h(
        'div',
        {},
        h(
          'h2',
          {},
          `Record ${fmt(row.index)}`,
          meta.files.length > 1 ? h('span', { class: 'muted' }, ` in ${row.file}`) : null,
        ),
        h(
          'div',
          { class: 'sub' },
          h('span', {}, 'id ', h('code', {}, row.id === null ? '—' : String(row.id))),
          h('span', { class: 'source' }, row.source),
          h(
            'span',
            {},
            `${row.turns} turns · ${row.images} image${row.images === 1 ? '' : 's'} · ${fmt(row.tokens)} tokens`,
          ),
          h('span', { class: 'muted' }, view.where ?? `byte ${fmt(view.offset)}, ${kb(view.length)}`),
        ),
      ),
      h(
        'div',
        { class: 'nav' },
        h(
          'button',
          {
            type: 'button',
            class: 'prev',
            disabled: view.previous === null,
            title: 'Previous (k)',
            onclick: () => view.previous !== null && go({ r: view.previous }),
          },
          '‹',
        ),
        h('span', { class: 'muted' }, view.position >= 0 ? `${fmt(view.position + 1)} / ${fmt(view.total)}` : ''),
        h(
          'button',
          {
            type: 'button',
            class: 'next',
            disabled: view.next === null,
            title: 'Next (j)',
            onclick: () => view.next !== null && go({ r: view.next }),
          },
          '›',
        ),
        h('button', { type: 'button', class: 'close', title: 'Close (Esc)', onclick: () => go({ r: null }) }, '×'),
      ),
    ),
    view.images.length > 0 ? h('section', { class: 'images' }, ...view.images.map((i) => imageCard(view, i))) : null,
    h('section', {}, h('h3', {}, 'Conversation'), chat(view.value)),
    h(
      'section',
      {},
      h('h3', {}, `Diagnostics (${view.diagnostics.length})`),
      diags.length
        ? h('ul', { class: 'diags' }, ...diags)
        : h('p', { class: 'muted ok' }, 'No diagnostics: this record passes every rule.'),
    ),
    h(
      'section',
      {},
      h('h3', {}, 'Rendered with ', templateSelect),
      view.rendered !== undefined
        ? h('pre', { class: 'rendered' }, ...highlightTokens(view.rendered))
        : h(
            'p',
            { class: 'diag error' },
            view.renderError ? badge(view.renderError.ruleId, 'error') : null,
            ' ',
            view.renderError?.message ?? '',
          ),
    ),
    h(
      'section',
      {},
      h('h3', {}, 'JSON'),
      view.parseError ? h('p', { class: 'diag error' }, view.parseError) : null,
      json,
    ),
  );
  for (const d of view.diagnostics) {
    if (d.pointer === undefined) continue;
    pointerTarget(json, d.pointer)?.classList.add('hl', d.severity);
    // the turn a diagnostic is about is marked in the chat too
    const turn = /^\/conversations\/(\d+)/.exec(d.pointer);
    if (turn)
      panel.querySelector(`.chat .turn[data-pointer="/conversations/${turn[1]}"]`)?.classList.add(`flag-${d.severity}`);
  }
  panel.hidden = false;
  $('scrim').hidden = false;
  document.querySelector(`tr[data-n="${row.n}"]`)?.classList.add('current');
}

/** The raw text of a record whose JSON is broken, with the place of the syntax error marked. */
function brokenText(view: RecordView): Node[] {
  const at = view.diagnostics.find((d) => d.ruleId === 'json/syntax' && d.place?.offset !== undefined)?.place?.offset;
  if (at === undefined || at < view.offset || at >= view.offset + view.length)
    return [document.createTextNode(view.text)];
  // the diagnostic counts bytes, the text is UTF-16: convert the byte position
  const bytes = new TextEncoder().encode(view.text);
  const index = new TextDecoder().decode(bytes.subarray(0, at - view.offset)).length;
  return [
    document.createTextNode(view.text.slice(0, index)),
    h('span', { class: 'hl error syntax', title: 'the JSON breaks here' }, view.text.slice(index, index + 1) || ' '),
    document.createTextNode(view.text.slice(index + 1)),
  ];
}

function focusPointer(json: HTMLElement, pointer: string, severity: string): void {
  const el = pointerTarget(json, pointer);
  if (!el) return;
  for (const e of json.querySelectorAll('.focus')) e.classList.remove('focus');
  el.classList.add('focus', severity);
  el.scrollIntoView({ block: 'center', behavior: 'smooth' });
}

// ---------- stats ----------

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

async function renderStats(s: URLSearchParams): Promise<void> {
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

// ---------- main ----------

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
  meta = await api<Meta>('/api/meta');
  ruleSeverity = new Map(meta.rules.map((r) => [r.ruleId, r.severity]));
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
