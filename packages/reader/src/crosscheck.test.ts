import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type ReadItem, type ReadOptions, readRecords } from './index.js';

async function* slices(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function both(bytes: Buffer, size: number, options: ReadOptions = {}) {
  const run = async (engine: 'fast' | 'stream-json') => {
    const items: ReadItem[] = [];
    for await (const item of readRecords(slices(bytes, size), { ...options, engine })) items.push(item);
    return items.map((i) => ({ index: i.place.index, ok: i.ok, value: i.ok ? i.value : undefined }));
  };
  return { fast: await run('fast'), streamJson: await run('stream-json') };
}

const text = fc.string({
  unit: fc.oneof(fc.constantFrom('"', '\\', '\n', 'é', '🙂', '<image>'), fc.string({ maxLength: 1 })),
});
const record = fc.record({
  id: fc.oneof(fc.stringMatching(/^\d{12}$/), fc.integer()),
  image: fc.option(fc.stringMatching(/^[a-z]{1,8}\/\d{1,9}\.jpg$/), { nil: undefined }),
  conversations: fc.array(fc.record({ from: fc.constantFrom('human', 'gpt'), value: text }), { maxLength: 4 }),
  extra: fc.jsonValue({ maxDepth: 2 }),
});

describe('cross-check: fast and stream-json engines agree', () => {
  test.prop(
    [fc.array(record, { maxLength: 10 }), fc.constantFrom(0, 2), fc.boolean(), fc.integer({ min: 1, max: 200 })],
    {
      numRuns: 100,
    },
  )('JSON arrays', async (recs, indent, bom, size) => {
    const json = JSON.stringify(recs, null, indent || undefined);
    const bytes = Buffer.from(`${bom ? '\uFEFF' : ''}${json}\n`);
    const { fast, streamJson } = await both(bytes, size);
    expect(streamJson).toEqual(fast);
    expect(fast.map((i) => i.value)).toEqual(JSON.parse(json));
  });

  test.prop([fc.array(record, { minLength: 1, maxLength: 10 }), fc.boolean(), fc.integer({ min: 1, max: 200 })], {
    numRuns: 100,
  })('JSON Lines', async (recs, crlf, size) => {
    const eol = crlf ? '\r\n' : '\n';
    const bytes = Buffer.from(recs.map((r) => JSON.stringify(r)).join(eol) + eol + eol);
    const { fast, streamJson } = await both(bytes, size);
    expect(streamJson).toEqual(fast);
  });

  it('agrees on a broken JSONL line (reported, index kept)', async () => {
    const bytes = Buffer.from('{"a": 1}\n{"b": 2,}\n\n{"c": 3}\n');
    const { fast, streamJson } = await both(bytes, 5);
    expect(streamJson).toEqual(fast);
    expect(fast.map((i) => i.ok)).toEqual([true, false, true]);
  });

  it('both throw a DiagnosticError on a truncated array', async () => {
    for (const engine of ['fast', 'stream-json'] as const) {
      const run = async () => {
        for await (const _ of readRecords(slices(Buffer.from('[{"a": 1}, {"b": '), 4), { engine })) {
          /* drain */
        }
      };
      await expect(run()).rejects.toMatchObject({ diagnostic: { severity: 'error' } });
    }
  });
});
