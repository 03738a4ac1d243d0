// The record's JSON as DOM, each value tagged with its JSON pointer, so diagnostics can be highlighted in it.
import { h } from './dom.js';
import type { RecordView } from './types.js';

/** Pretty JSON as DOM, each value in a span with its JSON pointer (for highlighting diagnostics). */
export function jsonNode(value: unknown, pointer: string, indent: string): Node {
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
export function pointerTarget(root: HTMLElement, pointer: string): HTMLElement | null {
  let p = pointer;
  for (;;) {
    const el = root.querySelector<HTMLElement>(`[data-pointer="${CSS.escape(p)}"]`);
    if (el || p === '') return el;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

/** The raw text of a record whose JSON is broken, with the place of the syntax error marked. */
export function brokenText(view: RecordView): Node[] {
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

export function focusPointer(json: HTMLElement, pointer: string, severity: string): void {
  const el = pointerTarget(json, pointer);
  if (!el) return;
  for (const e of json.querySelectorAll('.focus')) e.classList.remove('focus');
  el.classList.add('focus', severity);
  el.scrollIntoView({ block: 'center', behavior: 'smooth' });
}
