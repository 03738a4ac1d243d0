import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type ReadItem, type RecordPlace, RecordScanner } from './index.js';

/** Text that breaks naive scanners, with runs long enough to take the `indexOf` path of the string skip. */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '\\"', '\\\\', '\n', '\t', 'é', '🙂', '<image>', '{', '}', '[', ']', ','),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
    fc.constantFrom('x'.repeat(23), 'y'.repeat(24), 'z'.repeat(25), 'w'.repeat(90)),
  ),
  maxLength: 12,
});
const record = fc.record({
  id: fc.oneof(fc.stringMatching(/^\d{12}$/), fc.integer()),
  conversations: fc.array(fc.record({ from: fc.constantFrom('human', 'gpt'), value: text }), { maxLength: 4 }),
});
const chunkSizes = fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 });

function chunks(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let k = 0;
  for (let i = 0; i < bytes.length; ) {
    const n = sizes[k++ % sizes.length]!;
    out.push(Buffer.from(bytes.subarray(i, i + n)));
    i += n;
  }
  return out;
}

interface Found {
  readonly text: string;
  readonly place: Omit<RecordPlace, 'length'> & { length: number };
}

/** Every element as the parsing scanner finds it, or the error that ended the scan. */
function parsed(parts: Buffer[]): { found: Found[]; error?: string } {
  const scanner = new RecordScanner();
  const items: ReadItem[] = [];
  for (const part of parts) items.push(...scanner.push(part));
  items.push(...scanner.end());
  return {
    found: items.map((item) => ({ text: item.text, place: item.place })),
    ...(scanner.error ? { error: scanner.error.diagnostic.message } : {}),
  };
}

/** The same through the raw scanner's sink (`pushTo`/`endTo`). */
function rawSink(parts: Buffer[]): { found: Found[]; error?: string } {
  const scanner = new RecordScanner({ raw: true });
  const found: Found[] = [];
  const sink = (bytes: Buffer, s: number, e: number, index: number, offset: number, line: number, column: number) => {
    found.push({ text: bytes.toString('utf8', s, e), place: { index, offset, line, column, length: e - s } });
  };
  for (const part of parts) scanner.pushTo(part, sink);
  scanner.endTo(sink);
  return { found, ...(scanner.error ? { error: scanner.error.diagnostic.message } : {}) };
}

/** The same through `pushRaw`/`endRaw`. */
function rawItems(parts: Buffer[]): { found: Found[]; error?: string } {
  const scanner = new RecordScanner({ raw: true });
  const found: Found[] = [];
  const add = (e: { bytes: Buffer; place: RecordPlace }) =>
    found.push({ text: e.bytes.toString('utf8'), place: e.place });
  for (const part of parts) scanner.pushRaw(part).forEach(add);
  scanner.endRaw().forEach(add);
  return { found, ...(scanner.error ? { error: scanner.error.diagnostic.message } : {}) };
}

/** Line and column of a byte offset, counted independently of the scanner. */
function truth(bytes: Buffer, offset: number): { line: number; column: number } {
  const before = bytes.subarray(0, offset);
  let line = 1;
  for (const b of before) if (b === 0x0a) line++;
  const lineStart = before.lastIndexOf(0x0a) + 1;
  return { line, column: bytes.subarray(lineStart, offset).toString('utf8').length + 1 };
}

describe('property: the raw scanner finds what the parsing scanner finds', () => {
  test.prop([fc.array(record, { maxLength: 6 }), fc.constantFrom(0, 2, 4), fc.boolean(), chunkSizes], {
    numRuns: 300,
  })('same bytes and places, pretty or compact, raw newlines in strings, any chunking', (recs, indent, raw, sizes) => {
    let json = JSON.stringify(recs, null, indent || undefined);
    // A raw newline inside strings (invalid JSON, reported per record): the places after it stay exact.
    if (raw) json = json.replaceAll('\\n', '\n');
    const bytes = Buffer.from(`${json}\n`);
    const parts = chunks(bytes, sizes);
    const expected = parsed(parts);
    expect(rawSink(parts)).toEqual(expected);
    expect(rawItems(parts)).toEqual(expected);
    for (const { text: t, place } of expected.found) {
      expect(bytes.toString('utf8', place.offset, place.offset + place.length)).toBe(t);
      expect({ line: place.line, column: place.column }).toEqual(truth(bytes, place.offset));
    }
  });
});

describe('the raw scanner', () => {
  it('keeps the column after a multi-line element with non-ASCII text split across chunks', () => {
    const bytes = Buffer.from('[{"a": "é\\u00e9",\n"b": "🙂"}, {"c": "ü"},\n {"d": 1}]');
    for (let cut = 1; cut < bytes.length; cut++) {
      const parts = [bytes.subarray(0, cut), bytes.subarray(cut)].map((b) => Buffer.from(b));
      const { found } = rawSink(parts);
      expect(found.map((f) => f.place)).toEqual(parsed(parts).found.map((f) => f.place));
      for (const { place } of found)
        expect({ line: place.line, column: place.column }).toEqual(truth(bytes, place.offset));
    }
  });
});
