/**
 * Find where the value a JSON pointer designates starts inside a JSON text: its character index, or `-1` when the
 * pointer does not exist or the text is not valid JSON there. Meant for the rare diagnostic, not the hot path: it
 * walks the text from the start, skipping the values before the target. With duplicate keys the first one wins.
 *
 * @example
 * ```ts
 * locatePointer('{"conversations": [{"from": "user"}]}', '/conversations/0/from'); // 28
 * ```
 */
export function locatePointer(text: string, pointer: string): number {
  if (pointer !== '' && !pointer.startsWith('/')) return -1;
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  try {
    let i = skipWs(text, 0);
    for (const segment of segments) {
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        i = skipWs(text, i + 1);
        for (;;) {
          if (text.charCodeAt(i) !== 0x22) return -1;
          const keyEnd = endOfString(text, i);
          const key = JSON.parse(text.slice(i, keyEnd)) as string;
          i = skipWs(text, keyEnd);
          if (text.charCodeAt(i) !== 0x3a) return -1;
          i = skipWs(text, i + 1);
          if (key === segment) break;
          i = skipWs(text, skipValue(text, i));
          if (text.charCodeAt(i) !== 0x2c) return -1;
          i = skipWs(text, i + 1);
        }
      } else if (c === 0x5b) {
        if (!/^(0|[1-9]\d*)$/.test(segment)) return -1;
        const target = Number(segment);
        i = skipWs(text, i + 1);
        for (let k = 0; k < target; k++) {
          if (text.charCodeAt(i) === 0x5d) return -1;
          i = skipWs(text, skipValue(text, i));
          if (text.charCodeAt(i) !== 0x2c) return -1;
          i = skipWs(text, i + 1);
        }
        if (text.charCodeAt(i) === 0x5d) return -1;
      } else return -1;
    }
    return i < text.length ? i : -1;
  } catch {
    return -1;
  }
}

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index just after the string starting at `i` (which is a `"`). */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just after the value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return endOfString(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x22) j = endOfString(text, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new SyntaxError('unterminated value');
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x5d || d === 0x7d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  if (j === i) throw new SyntaxError('no value');
  return j;
}
