// The page's shared state: the dataset's meta, the API, and the place (tab, filters, page, search, record,
// template), which lives in the URL hash so that a link opens the same view.
import { h } from './dom.js';
import type { Diagnostic, Meta } from './types.js';

export const FILTER_KEYS = ['rule', 'severity', 'source', 'hasImage', 'missing', 'minTokens', 'maxTokens'] as const;

export let meta: Meta;
export let ruleSeverity = new Map<string, Diagnostic['severity']>();

/** Set the meta (at start and while tokens are counted). */
export function setMeta(next: Meta): void {
  meta = next;
  ruleSeverity = new Map(next.rules.map((r) => [r.ruleId, r.severity]));
}

let renderPage: () => Promise<void> = async () => {};

/** The function that renders the page for the current place (called by {@link go} and on `hashchange`). */
export function onPlaceChange(render: () => Promise<void>): void {
  renderPage = render;
}

/** Render the page for the current place. */
export function rerender(): Promise<void> {
  return renderPage();
}

export async function api<T>(path: string, params: URLSearchParams = new URLSearchParams()): Promise<T> {
  const response = await fetch(`${path}?${params}`, { credentials: 'same-origin' });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

// ---------- the place, in the hash ----------

export function state(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

export function go(changes: Record<string, string | number | null | undefined>, replace = false): void {
  const s = state();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') s.delete(k);
    else s.set(k, String(v));
  }
  const hash = `#${s.toString()}`;
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  void rerender();
}

export function filterParams(s = state()): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = s.get(k);
    if (v !== null && v !== '') p.set(k, v);
  }
  return p;
}

export function badge(ruleId: string, severity?: Diagnostic['severity']): HTMLElement {
  const sev = severity ?? ruleSeverity.get(ruleId) ?? 'info';
  const rule = meta.rules.find((r) => r.ruleId === ruleId);
  return h('span', { class: `badge ${sev}`, title: rule ? `${rule.title} (${sev})` : ruleId }, ruleId);
}
