import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JsonlLine, type OverlongLine, overlongLineDiagnostic, readLines } from './jsonl.js';

/** What readLines must yield, computed the obvious way (whole file in memory). */
function expected(bytes: Buffer, max: number): (JsonlLine | OverlongLine)[] {
  const out: (JsonlLine | OverlongLine)[] = [];
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    line++;
    const raw = bytes.subarray(start, end);
    if (raw.length > max) out.push({ line, overlong: true, bytes: raw.length, offset: start });
    else {
      let text = new TextDecoder().decode(raw);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() !== '') out.push({ line, text });
    }
    start = end + 1;
  }
  return out;
}

async function collect(path: string, max: number, chunk: number) {
  const out: (JsonlLine | OverlongLine)[] = [];
  for await (const item of readLines(path, { maxLineBytes: max, chunkBytes: chunk })) out.push(item);
  return out;
}

describe('readLines', () => {
  it('yields the lines a whole-file split gives, over-long ones as counted skips, whatever the chunk size', async () => {
    const path = join(tmpdir(), `llavakit-readlines-${process.pid}.txt`);
    const lineArb = fc.oneof(
      fc.string({ maxLength: 12 }).map((s) => s.replaceAll('\n', ' ')),
      fc.constantFrom('', '  ', '\r', 'é€😀', '{"a":1}\r'),
      fc.integer({ min: 20, max: 60 }).map((n) => 'x'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { maxLength: 12 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 17 }),
        async (lines, trailingNewline, max, chunk) => {
          const bytes = Buffer.from(lines.join('\n') + (trailingNewline && lines.length ? '\n' : ''));
          await writeFile(path, bytes);
          expect(await collect(path, max, chunk)).toEqual(expected(bytes, max));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports an over-long line with its place and rule', async () => {
    const path = join(tmpdir(), `llavakit-readlines-long-${process.pid}.txt`);
    await writeFile(path, `ok\n${'z'.repeat(100)}\nafter\n`);
    const items = await collect(path, 50, 7);
    expect(items).toEqual([
      { line: 1, text: 'ok' },
      { line: 2, overlong: true, bytes: 100, offset: 3 },
      { line: 3, text: 'after' },
    ]);
    const d = overlongLineDiagnostic('x.jsonl', items[1] as OverlongLine, 50);
    expect(d).toMatchObject({
      ruleId: 'prompts/line-too-long',
      file: 'x.jsonl',
      place: { line: 2, column: 1, offset: 3 },
    });
  });
});
