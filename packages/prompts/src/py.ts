/**
 * Small helpers that reproduce Python's behaviour byte for byte where LLaVA's output depends on it.
 * @module
 */

// Characters for which Python's `str.isspace()` is true (bidi class WS/B/S or category Zs).
const PY_SPACE = new Set(
  [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ].map((c) => String.fromCharCode(c)),
);

/** Python `str.strip()` with no argument (its whitespace set differs from `String#trim`: `\x1c`–`\x1f` and `\x85` are space, U+FEFF is not). */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.has(text[start]!)) start++;
  while (end > start && PY_SPACE.has(text[end - 1]!)) end--;
  return text.slice(start, end);
}

/** Python `str.lstrip(chars)`: remove leading characters that are in the set `chars` (`''` removes nothing). */
export function pyLstripChars(text: string, chars: string): string {
  if (chars === '') return text;
  let start = 0;
  while (start < text.length && chars.includes(text[start]!)) start++;
  return text.slice(start);
}

/**
 * Python `round(x, digits)` for a float: round the exact binary value to `digits` decimals, ties to even.
 *
 * @example
 * ```ts
 * pyRound(0.0625, 3); // 0.062 (JavaScript's toFixed gives 0.063)
 * ```
 */
export function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  // toFixed(d) is correct except on exact ties, where it rounds away from zero; detect exact ties from the
  // exact decimal expansion of the double (toFixed with many digits is exact for these magnitudes).
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 60));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (/^50*$/.test(tail)) {
    const truncated = exact.slice(0, dot + 1 + digits);
    const lastDigit = Number(truncated.at(-1) === '.' ? truncated.at(-2) : truncated.at(-1));
    const down = Number(truncated);
    const result = lastDigit % 2 === 0 ? down : Number(Math.abs(x).toFixed(digits));
    return x < 0 ? -result : result;
  }
  return Number(x.toFixed(digits));
}

/**
 * Python `repr()` of a float: the shortest round-trip digits, with `.0` on integral values (`0.0`, `1.0`),
 * `-0.0` for negative zero, and Python's exponent form for very small or large magnitudes.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  if (Object.is(x, -0)) return '-0.0';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // Python: 1e-05, 1.5e+16
    const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}
