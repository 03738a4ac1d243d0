// Small DOM helpers of the page: elements are built with `h` and filled with text, never with HTML.

export type Child = Node | string | number | null | undefined | false;

/** Make an element; attributes are set as attributes (`class`, `data-*`, …) or properties for `on*` handlers. */
export function h(tag: string, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElement {
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
export function fill(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : String(c))),
  );
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const fmt = (n: number) => n.toLocaleString('en');
export const SEVERITY = ['', 'info', 'warning', 'error'] as const;

export function highlightTokens(text: string): Node[] {
  const out: Node[] = [];
  for (const part of text.split(/(<image>|<video>)/)) {
    if (part === '<image>' || part === '<video>') out.push(h('span', { class: 'media-token' }, part));
    else if (part) out.push(document.createTextNode(part));
  }
  return out;
}

export function kb(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
