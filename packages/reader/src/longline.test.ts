import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import type { ReadItem } from './types.js';

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function read(bytes: Buffer, max: number, chunk: number): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const item of readRecords(chunks(bytes, chunk), {
    container: 'jsonl',
    file: 'x.jsonl',
    maxRecordBytes: max,
  })) {
    out.push(item);
  }
  return out;
}

describe('JSON Lines: a record over maxRecordBytes is skipped to the next newline, not the end of the read', () => {
  it('rejects the long line with its place and reads the next ones', async () => {
    const bytes = Buffer.from(`{"id":"a"}\n{"id":"${'z'.repeat(200)}"}\n{"id":"b"}\n{"id":"${'y'.repeat(90)}"}`);
    for (const chunk of [3, 16, 64, 1 << 20]) {
      const items = await read(bytes, 64, chunk);
      expect(items.map((i) => (i.ok ? (i.value as { id: string }).id : i.diagnostic.ruleId))).toEqual([
        'a',
        'json/record-too-large',
        'b',
        'json/record-too-large',
      ]);
      const long = items[1]!;
      expect(long.place).toMatchObject({ index: 1, offset: 11, line: 2, column: 1, length: 209 });
      expect(!long.ok && long.diagnostic).toMatchObject({ file: 'x.jsonl', recordIndex: 1, place: { line: 2 } });
      expect(items[2]!.place).toMatchObject({ index: 2, line: 3 });
      expect(items[3]!.place).toMatchObject({ index: 3, line: 4, length: 99 });
    }
  });

  it('never loses a line: every non-blank line is one item, whatever the chunk size and limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 12, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        async (lengths, max, chunk) => {
          const lines = lengths.map((n, i) => JSON.stringify({ id: String(i), t: 'q'.repeat(n) }));
          const items = await read(Buffer.from(`${lines.join('\n')}\n`), max, chunk);
          expect(items).toHaveLength(lines.length);
          items.forEach((item, i) => {
            const bytes = Buffer.byteLength(lines[i]!);
            expect(item.ok).toBe(bytes <= max);
            expect(item.place.line).toBe(i + 1);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
