import { fc, test } from '@fast-check/vitest';
import { DiagnosticError } from '@llavakit/diagnostics';
import { describe, expect } from 'vitest';
import { locateJsonError, type ReadItem, type ReadOptions, readRecords } from './index.js';

/** Text with the characters that break naive scanners: quotes, backslashes, newlines, astral and control chars. */
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '"',
      '\\',
      '\\"',
      '\n',
      '\r',
      '\t',
      '/',
      '\u2028',
      '\u0000',
      'é',
      '🙂',
      '𝄞',
      '<image>',
      '{',
      '}',
      '[',
      ']',
      ',',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

const turn = fc.record({ from: fc.constantFrom('human', 'gpt'), value: tricky });
const record = fc.record(
  {
    id: fc.oneof(fc.stringMatching(/^\d{12}$/), fc.integer(), tricky),
    image: fc.oneof(fc.stringMatching(/^\d{12}\.jpg$/), tricky, fc.array(tricky, { maxLength: 3 })),
    conversations: fc.array(turn, { maxLength: 4 }),
    extra: fc.dictionary(fc.oneof(tricky, fc.constant('__proto__')), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['conversations'] },
);
const records = fc.array(record, { maxLength: 8 });
const chunkSizes = fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 });

async function* slices(bytes: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let k = 0;
  for (let i = 0; i < bytes.length; ) {
    const n = sizes[k++ % sizes.length]!;
    // a fresh Uint8Array (not a Buffer) over a copy, as a web stream would give
    yield new Uint8Array(bytes.subarray(i, i + n));
    i += n;
  }
}

async function readAll(bytes: Buffer, sizes: number[], options: ReadOptions = {}): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  for await (const item of readRecords(slices(bytes, sizes), options)) items.push(item);
  return items;
}

/** Check each item's place against the bytes, computed independently of the scanner. */
function checkPlaces(bytes: Buffer, items: ReadItem[], bom: boolean) {
  let last = -1;
  items.forEach((item, i) => {
    const p = item.place;
    expect(p.index).toBe(i);
    expect(p.offset).toBeGreaterThan(last);
    last = p.offset;
    expect(bytes.subarray(p.offset, p.offset + p.length).toString('utf8')).toBe(item.text);
    const before = bytes.subarray(0, p.offset);
    let newlines = 0;
    for (const b of before) if (b === 0x0a) newlines++;
    expect(p.line).toBe(newlines + 1);
    const lineStart = Math.max(before.lastIndexOf(0x0a) + 1, bom ? 3 : 0);
    expect(p.column).toBe(bytes.subarray(lineStart, p.offset).toString('utf8').length + 1);
  });
}

describe('property: JSON arrays read back exactly', () => {
  test.prop(
    [
      records,
      fc.constantFrom<0 | 1 | 2 | 4 | '\t'>(0, 1, 2, 4, '\t'),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      chunkSizes,
    ],
    { numRuns: 300 },
  )(
    'any records, pretty or compact, blank lines, BOM/CRLF, any chunking',
    async (recs, indent, blank, bom, crlf, sizes) => {
      let text = JSON.stringify(recs, null, indent || undefined);
      // (a raw newline is never inside a JSON string: doubling them adds blank lines inside and between records)
      if (blank) text = text.replaceAll('\n', '\n \n');
      if (crlf) text = text.replaceAll('\n', '\r\n');
      const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(`${text}\n`)]);
      const items = await readAll(bytes, sizes);
      const expected = JSON.parse(text) as unknown[];
      expect(items.every((i) => i.ok)).toBe(true);
      expect(items.map((i) => (i.ok ? i.value : undefined))).toEqual(expected);
      checkPlaces(bytes, items, bom);
    },
  );
});

describe('property: JSON Lines read back exactly', () => {
  test.prop([records, fc.array(fc.nat(2), { minLength: 8, maxLength: 8 }), fc.boolean(), fc.boolean(), chunkSizes], {
    numRuns: 300,
  })('any records, blank lines, BOM/CRLF, any chunking', async (recs, blanks, bom, crlf, sizes) => {
    const eol = crlf ? '\r\n' : '\n';
    let text = '';
    recs.forEach((r, i) => {
      text += eol.repeat(blanks[i] ?? 0) + JSON.stringify(r) + eol;
    });
    text += eol.repeat(blanks[7] ?? 0);
    const bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text)]);
    if (recs.length === 0) {
      await expect(readAll(bytes, sizes)).rejects.toSatisfy((e: unknown) => DiagnosticError.is(e));
      return;
    }
    const items = await readAll(bytes, sizes, { container: 'jsonl' });
    expect(items.map((i) => (i.ok ? i.value : undefined))).toEqual(recs.map((r) => JSON.parse(JSON.stringify(r))));
    checkPlaces(bytes, items, bom);
    // auto-detection agrees (records are objects)
    const auto = await readAll(bytes, sizes);
    expect(auto.map((i) => i.place)).toEqual(items.map((i) => i.place));
  });
});

describe('property: broken JSON is located where JSON.parse fails', () => {
  const mutated = fc
    .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', '\\', ':', 'x', '\n', '{', '['))
    .map(([json, at, insert]) => {
      const i = json.length ? at % json.length : 0;
      return json.slice(0, i) + insert + json.slice(i + (insert === '' ? 1 : 0));
    });
  test.prop([mutated], { numRuns: 1000 })('locateJsonError agrees with JSON.parse', (text) => {
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    const spot = locateJsonError(text);
    expect(spot === undefined).toBe(valid);
    if (spot) {
      expect(spot.index).toBeGreaterThanOrEqual(0);
      expect(spot.index).toBeLessThanOrEqual(text.length);
    }
  });

  test.prop([records, fc.nat(), chunkSizes], { numRuns: 200 })(
    'a broken record is reported in place and its neighbours still read',
    async (recs, pick, sizes) => {
      fc.pre(recs.length >= 2);
      const k = pick % recs.length;
      const parts = recs.map((r) => JSON.stringify(r));
      // a trailing comma inside record k: keeps the boundary scanner in step, breaks JSON.parse
      parts[k] = `${parts[k]!.slice(0, -1)},}`;
      const bytes = Buffer.from(`[\n${parts.join(',\n')}\n]\n`);
      const items = await readAll(bytes, sizes);
      expect(items).toHaveLength(recs.length);
      items.forEach((item, i) => {
        expect(item.ok).toBe(i !== k);
        if (!item.ok) {
          expect(item.diagnostic.ruleId).toBe('json/syntax');
          expect(item.diagnostic.recordIndex).toBe(k);
          expect(item.diagnostic.place?.line).toBe(k + 2);
          expect(item.diagnostic.place?.offset).toBe(item.place.offset + item.place.length - 1);
        }
      });
    },
  );
});
