/** Where, inside a JSON text, the first syntax error is: a UTF-16 index and a short message. */
export interface JsonErrorSpot {
  /** 0-based index (UTF-16 code units) of the offending character, or the text length when it ends too early. */
  readonly index: number;
  /** What is wrong, e.g. ``unexpected `}` after `,` (trailing comma)``. */
  readonly message: string;
}

const WS = new Uint8Array(128);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;

function show(text: string, i: number): string {
  if (i >= text.length) return 'end of record';
  const c = text.codePointAt(i) ?? 0;
  if (c < 0x20) return `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
  return `\`${String.fromCodePoint(c)}\``;
}

/**
 * Find the first JSON syntax error in a text, with its exact index. `JSON.parse` in Node 20 does not always say
 * where it failed, so the reader runs this (iterative, no recursion) checker on texts that `JSON.parse` rejected.
 * Returns `undefined` when the text is valid JSON.
 */
export function locateJsonError(text: string): JsonErrorSpot | undefined {
  const n = text.length;
  const stack: number[] = []; // 0 = array, 1 = object
  let i = 0;
  const skip = () => {
    while (i < n && text.charCodeAt(i) < 128 && WS[text.charCodeAt(i)] === 1) i++;
  };
  const fail = (message: string, at = i): JsonErrorSpot => ({ index: at, message });
  // expect: 0 value, 1 value-or-close (after `[`), 2 key-or-close (after `{`), 3 key (after `,` in object)
  let expect = 0;
  for (;;) {
    skip();
    if (expect === 2 || expect === 3) {
      const c = text.charCodeAt(i);
      if (expect === 2 && c === 0x7d) {
        i++;
        stack.pop();
      } else {
        if (c !== 0x22) {
          if (i >= n) return fail('the record ends inside an object');
          if (c === 0x7d) return fail('unexpected `}` after `,` (trailing comma)');
          return fail(`expected a double-quoted property name, found ${show(text, i)}`);
        }
        const err = readString(text, i);
        if (typeof err !== 'number') return err;
        i = err;
        skip();
        if (text.charCodeAt(i) !== 0x3a) return fail(`expected \`:\` after the property name, found ${show(text, i)}`);
        i++;
        expect = 0;
        continue;
      }
    } else {
      const c = text.charCodeAt(i);
      if (i >= n) return fail(stack.length ? 'the record ends where a value was expected' : 'empty text');
      if (c === 0x5d && expect === 1) {
        i++;
        stack.pop();
      } else if (c === 0x7b) {
        i++;
        stack.push(1);
        expect = 2;
        continue;
      } else if (c === 0x5b) {
        i++;
        stack.push(0);
        expect = 1;
        continue;
      } else if (c === 0x22) {
        const err = readString(text, i);
        if (typeof err !== 'number') return err;
        i = err;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const end = readNumber(text, i);
        if (typeof end !== 'number') return end;
        i = end;
      } else if (text.startsWith('true', i)) i += 4;
      else if (text.startsWith('false', i)) i += 5;
      else if (text.startsWith('null', i)) i += 4;
      else if (c === 0x5d && stack.length && text.charCodeAt(lastNonWs(text, i)) === 0x2c) {
        return fail('unexpected `]` after `,` (trailing comma)');
      } else return fail(`unexpected ${show(text, i)} where a value was expected`);
    }
    // after a complete value
    for (;;) {
      skip();
      if (stack.length === 0) {
        if (i < n) return fail(`unexpected ${show(text, i)} after the end of the value`);
        return undefined;
      }
      const top = stack[stack.length - 1];
      const c = text.charCodeAt(i);
      if (i >= n) return fail(top === 1 ? 'the record ends inside an object' : 'the record ends inside an array');
      if (c === 0x2c) {
        i++;
        expect = top === 1 ? 3 : 0;
        break;
      }
      if ((top === 1 && c === 0x7d) || (top === 0 && c === 0x5d)) {
        i++;
        stack.pop();
        continue;
      }
      return fail(
        top === 1
          ? `expected \`,\` or \`}\` after a property value, found ${show(text, i)}`
          : `expected \`,\` or \`]\` after an array element, found ${show(text, i)}`,
      );
    }
  }
}

function lastNonWs(text: string, i: number): number {
  let j = i - 1;
  while (j >= 0 && text.charCodeAt(j) < 128 && WS[text.charCodeAt(j)] === 1) j--;
  return j;
}

/** Read a string starting at the quote at `i`; return the index after its closing quote, or an error. */
function readString(text: string, start: number): number | JsonErrorSpot {
  const n = text.length;
  let i = start + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return { index: i, message: `${show(text, i)} inside a string (write it as an escape, e.g. \\n)` };
    if (c === 0x5c) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          return { index: i, message: 'bad `\\u` escape (four hex digits expected)' };
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (
        e === 0x22 ||
        e === 0x5c ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      if (i + 1 >= n) break;
      return {
        index: i,
        message: `bad escape \`\\${String.fromCodePoint(text.codePointAt(i + 1) ?? 0)}\` in a string`,
      };
    }
    i++;
  }
  return { index: start, message: 'unterminated string (no closing `"`)' };
}

function readNumber(text: string, start: number): number | JsonErrorSpot {
  const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  m.lastIndex = start;
  const r = m.exec(text);
  if (!r || r[0] === '-' || r[0].length === 0) return { index: start, message: `bad number at ${show(text, start)}` };
  const end = start + r[0].length;
  const next = text.charCodeAt(end);
  if (next === 0x2e || next === 0x65 || next === 0x45 || (next >= 0x30 && next <= 0x39)) {
    return { index: start, message: `bad number \`${text.slice(start, end + 1)}\`` };
  }
  return end;
}
