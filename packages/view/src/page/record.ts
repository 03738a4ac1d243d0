// The record panel: images, the chat, diagnostics, the template rendering and the JSON.
import { $, fill, fmt, h, highlightTokens, kb } from './dom.js';
import { brokenText, focusPointer, jsonNode, pointerTarget } from './json-view.js';
import { api, badge, filterParams, go, meta } from './state.js';
import type { ImageView, RecordView } from './types.js';

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

export async function renderRecord(s: URLSearchParams): Promise<void> {
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
