/**
 * JSON text in the layouts Python's `json.dump` produces (the real files were written by Python scripts).
 */

/** How records are laid out in a JSON array file. */
export type Layout = 'pretty' | 'lines' | 'compact';

/**
 * Python `json.dumps(value)` text (separators `", "` and `": "`), without `indent`.
 * Strings are escaped like `ensure_ascii=False` (JSON.stringify escaping is identical for these values).
 */
export function pyCompact(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ', ' : '') + pyCompact(value[i]);
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out += `${first ? '' : ', '}${JSON.stringify(key)}: ${pyCompact(v)}`;
    first = false;
  }
  return `${out}}`;
}

const INDENTS: string[] = [];
function indent(depth: number): string {
  let s = INDENTS[depth];
  if (s === undefined) {
    s = `\n${'  '.repeat(depth)}`;
    INDENTS[depth] = s;
  }
  return s;
}

function pretty(value: unknown, depth: number): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = indent(depth + 1);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? `,${inner}` : inner) + pretty(value[i], depth + 1);
    return `${out}${indent(depth)}]`;
  }
  let out = '{';
  let first = true;
  for (const key in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out += `${first ? inner : `,${inner}`}${JSON.stringify(key)}: ${pretty(v, depth + 1)}`;
    first = false;
  }
  return first ? '{}' : `${out}${indent(depth)}}`;
}

/**
 * Python `json.dumps(value, indent=2)` text of one array element, already indented by one level (2 spaces), as it
 * appears inside a pretty-printed top-level array.
 */
export function pyPrettyElement(value: unknown): string {
  return `  ${pretty(value, 1)}`;
}

/** Escapes every non-ASCII UTF-16 unit as `\uXXXX` (lower-case hex), like Python's default `ensure_ascii=True`. */
export function asciiEscape(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Array framing for one layout: text before the first element, between elements, and after the last. */
export function arrayFrame(layout: Layout): { open: string; sep: string; close: string; empty: string } {
  switch (layout) {
    case 'pretty':
      return { open: '[\n', sep: ',\n', close: '\n]', empty: '[]' };
    case 'lines':
      return { open: '[\n  ', sep: ',\n  ', close: '\n]\n', empty: '[]\n' };
    default:
      return { open: '[', sep: ', ', close: ']', empty: '[]' };
  }
}

/** Serialises one array element for a layout. */
export function element(value: unknown, layout: Layout): string {
  return layout === 'pretty' ? pyPrettyElement(value) : pyCompact(value);
}
