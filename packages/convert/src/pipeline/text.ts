import { toPointer } from '@llavakit/diagnostics';

/**
 * True when JSON text (as written by `JSON.stringify`) holds an escaped lone surrogate (`\ud800`…`\udfff` not part
 * of a pair): `JSON.stringify` writes paired surrogates as the character itself and lone ones as an escape, so the
 * escape is the sign. A backslash escaped as `\\` before `ud800` is not one.
 */
export function hasEscapedLoneSurrogate(json: string): boolean {
  // (indexOf, not includes: on a two-byte string V8's includes is many times slower)
  if (json.indexOf('\\u') === -1) return false;
  return /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i.test(json);
}

const wellFormed = (text: string) => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** True when some string or key of a value holds a lone UTF-16 surrogate (the fast check; no pointer). */
export function hasLoneSurrogate(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !wellFormed(value);
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasLoneSurrogate(value[i], depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!wellFormed(key) || hasLoneSurrogate((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * The first string (or key) of a value that holds a lone UTF-16 surrogate, with its JSON pointer and the code unit
 * (`\ud800`); `undefined` when all text is well formed.
 *
 * @example
 * ```ts
 * findLoneSurrogate({ conversations: [{ from: 'gpt', value: 'a\ud800' }] });
 * // { pointer: '/conversations/0/value', codeUnit: '\\ud800' }
 * ```
 */
export function findLoneSurrogate(value: unknown): { pointer: string; codeUnit: string } | undefined {
  if (!hasLoneSurrogate(value)) return undefined;
  const path: (string | number)[] = [];
  const visit = (node: unknown, depth: number): { pointer: string; codeUnit: string } | undefined => {
    if (typeof node === 'string') {
      const unit = loneUnit(node);
      return unit ? { pointer: toPointer(path), codeUnit: unit } : undefined;
    }
    if (typeof node !== 'object' || node === null || depth > 64) return undefined;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        const found = visit(node[i], depth + 1);
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(node)) {
      path.push(key);
      const unit = loneUnit(key);
      const found = unit
        ? { pointer: toPointer(path), codeUnit: unit }
        : visit((node as Record<string, unknown>)[key], depth + 1);
      path.pop();
      if (found) return found;
    }
    return undefined;
  };
  return visit(value, 0);
}

function loneUnit(text: string): string | undefined {
  // String#isWellFormed (Node 20) is not in the ES2023 lib typings.
  if (wellFormed(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return `\\u${code.toString(16)}`;
  }
  return undefined;
}
