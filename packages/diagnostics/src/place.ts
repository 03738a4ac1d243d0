import type { Place } from './diagnostic.js';

/**
 * The place in its file of character `index` of a record's text, from the place of the record's first character:
 * the line counts the newlines before it, the column restarts after the last one (1-based, UTF-16 code units), the
 * byte offset adds the UTF-8 length of the text before it. A `base` with no known line (absent or `0`) is returned
 * as it is; else the result holds `offset` (when `base` has one that is not negative), `line` and `column`.
 *
 * @example
 * ```ts
 * placeInText('{\n  "id": 1}', 4, { offset: 100, line: 7, column: 3 }); // { offset: 104, line: 8, column: 3 }
 * ```
 */
export function placeInText(text: string, index: number, base: Place): Place {
  if (base.line === undefined || base.line <= 0) return base;
  const at = Math.max(index, 0);
  const before = text.slice(0, at);
  let newlines = 0;
  let last = -1;
  for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) {
    newlines++;
    last = i;
  }
  const line = base.line + newlines;
  const column = newlines === 0 ? (base.column ?? 1) + at : at - last;
  return base.offset !== undefined && base.offset >= 0
    ? { offset: base.offset + utf8Length(before), line, column }
    : { line, column };
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts 3, as `TextEncoder` writes U+FFFD). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
