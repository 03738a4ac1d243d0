import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detectContainer,
  type ReadItem,
  type ReadOptions,
  readerRules,
  readRecordBatches,
  readRecords,
  readValues,
} from './index.js';

async function* chunked(data: string | Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function collect(data: string | Uint8Array, options: ReadOptions = {}, size = 7) {
  const items: ReadItem[] = [];
  let error: DiagnosticError | undefined;
  try {
    for await (const item of readRecords(chunked(data, size), { file: 't.json', ...options })) items.push(item);
  } catch (e) {
    if (!DiagnosticError.is(e)) throw e;
    error = e;
  }
  return { items, error, values: items.map((i) => (i.ok ? i.value : undefined)) };
}

const places = (items: ReadItem[]) => items.map((i) => [i.place.offset, i.place.line, i.place.column, i.place.length]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llavakit-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readRecords: JSON arrays', () => {
  it('reads a pretty-printed array with places', async () => {
    const text = '[\n  {\n    "id": "1",\n    "image": "a.jpg"\n  },\n  {"id": 2}\n]\n';
    const { items, error } = await collect(text);
    expect(error).toBeUndefined();
    expect(items.map((i) => i.ok && i.value)).toEqual([{ id: '1', image: 'a.jpg' }, { id: 2 }]);
    expect(items.map((i) => i.place.index)).toEqual([0, 1]);
    expect(places(items)).toEqual([
      [4, 2, 3, 41],
      [49, 6, 3, 9],
    ]);
    expect(items[0]!.text).toBe(text.slice(4, 45));
  });

  it('reads a single-line array; columns count UTF-16 units after multi-byte text', async () => {
    const text = '[{"v":"é🙂"},{"v":"x"}, {"v":"z"}]';
    const { items } = await collect(text, {}, 3);
    // byte offsets: é is 2 bytes, 🙂 4 bytes; columns: é 1 unit, 🙂 2 units
    expect(places(items)).toEqual([
      [1, 1, 2, 14],
      [16, 1, 14, 9],
      [27, 1, 25, 9],
    ]);
  });

  it('handles a BOM and CRLF line ends', async () => {
    const text = '\uFEFF[\r\n  {"a": 1},\r\n  {"b": "\\\\"}\r\n]\r\n';
    const { items, error } = await collect(text, {}, 1);
    expect(error).toBeUndefined();
    expect(items.map((i) => i.ok && i.value)).toEqual([{ a: 1 }, { b: '\\' }]);
    expect(places(items)).toEqual([
      [8, 2, 3, 8],
      [21, 3, 3, 11],
    ]);
  });

  it('reads an empty array and scalar elements', async () => {
    expect((await collect('[ ]')).items).toEqual([]);
    const { values, error } = await collect('[1, -2.5e3, "s", true, false, null, [], {}]');
    expect(error).toBeUndefined();
    expect(values).toEqual([1, -2.5e3, 's', true, false, null, [], {}]);
  });

  it('keeps escaped quotes and backslash runs across chunk boundaries', async () => {
    const value = { v: 'a\\"b\\\\"c\\\\\\"d"\\', w: '"' };
    const text = JSON.stringify([value, value]);
    for (const size of [1, 2, 3, 5, 8]) {
      const { values, error } = await collect(text, {}, size);
      expect(error).toBeUndefined();
      expect(values).toEqual([value, value]);
    }
  });

  it('never assigns through __proto__ keys', async () => {
    const { items } = await collect('[{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}]');
    const v = items[0]!.ok ? (items[0]!.value as Record<string, unknown>) : {};
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports a broken record and keeps reading', async () => {
    const text = '[\n  {"a": [1, 2,]},\n  {"b": 2}\n]';
    const { items, error } = await collect(text);
    expect(error).toBeUndefined();
    expect(items).toHaveLength(2);
    const bad = items[0]!;
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.text).toBe('{"a": [1, 2,]}');
    expect(bad.diagnostic).toMatchObject({
      ruleId: 'json/syntax',
      severity: 'error',
      file: 't.json',
      recordIndex: 0,
      place: { offset: 16, line: 2, column: 15 },
    });
    expect(items[1]).toMatchObject({ ok: true, value: { b: 2 }, place: { index: 1, line: 3 } });
  });

  it('maps an error position on a later line of a pretty record', async () => {
    const text = '[{\n  "a": 1,\n  "b": tru\n}]';
    const { items } = await collect(text);
    const bad = items[0]!;
    expect(!bad.ok && bad.diagnostic.place).toEqual({ offset: 20, line: 3, column: 8 });
  });

  it('reads a 100 MB string inside a record', async () => {
    const file = join(dir, 'big-string.json');
    const big = 'ab"\\é'.repeat(20_000_000 / 5); // ~100 MB once escaped
    const out = createWriteStream(file);
    out.write('[{"id": "small"},\n{"id": "big", "v": ');
    out.write(JSON.stringify(big));
    out.write('},\n{"id": "after"}]\n');
    await new Promise((r) => out.end(r));
    const seen: unknown[] = [];
    let bigLength = 0;
    for await (const item of readRecords(file)) {
      expect(item.ok).toBe(true);
      const v = item.ok ? (item.value as { id: string; v?: string }) : undefined;
      seen.push(v?.id);
      if (v?.v) bigLength = v.v.length;
      if (v?.v) expect(v.v === big).toBe(true);
    }
    expect(seen).toEqual(['small', 'big', 'after']);
    expect(bigLength).toBe(big.length);
  }, 60_000);

  it('reports arrays nested 100,000 deep as json/too-deep without overflowing the stack', async () => {
    const deep = `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`;
    const { error } = await collect(deep, {}, 4096);
    expect(error?.diagnostic).toMatchObject({
      ruleId: 'json/too-deep',
      place: { offset: 1001, line: 1, column: 1002 },
    });
    // With the limit lifted, the iterative scanner and JSON.parse still cope.
    const lifted = await collect(deep, { maxDepth: Number.POSITIVE_INFINITY }, 4096);
    expect(lifted.error).toBeUndefined();
    expect(lifted.items).toHaveLength(1);
    const jsonl = await collect(`{"a": 1}\n${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, {}, 4096);
    expect(jsonl.error?.diagnostic).toMatchObject({ ruleId: 'json/too-deep', place: { line: 2, column: 1001 } });
  });

  it('reports invalid UTF-8 with its byte offset', async () => {
    const bytes = Buffer.concat([Buffer.from('[{"a": "ok"}, {"b": "x'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]);
    const { items, error } = await collect(bytes);
    expect(items).toHaveLength(1);
    expect(error?.diagnostic).toMatchObject({
      ruleId: 'encoding/invalid-utf8',
      recordIndex: 1,
      place: { offset: 22, line: 1, column: 23 },
    });
    // overlong encodings and surrogates are invalid too
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      const r = await collect(Buffer.concat([Buffer.from('["'), Buffer.from(bad), Buffer.from('"]')]));
      expect(r.error?.diagnostic.ruleId).toBe('encoding/invalid-utf8');
      expect(r.error?.diagnostic.place?.offset).toBe(2);
    }
  });

  it('enforces maxRecordBytes on records that span chunks', async () => {
    const text = `[{"a": 1}, {"v": "${'x'.repeat(5000)}"}]`;
    const { items, error } = await collect(text, { maxRecordBytes: 1000 }, 64);
    expect(items).toHaveLength(1);
    expect(error?.diagnostic).toMatchObject({ ruleId: 'json/record-too-large', recordIndex: 1, place: { offset: 11 } });
  });

  it('throws json/not-array for a top-level object with container json', async () => {
    const { error } = await collect('{"a": 1}\n', { container: 'json' });
    expect(error?.diagnostic.ruleId).toBe('json/not-array');
  });
});

describe('readRecords: JSON Lines', () => {
  it('reads lines, skipping blank lines, with CRLF and a trailing blank line', async () => {
    const text = '{"id": "1"}\r\n\r\n  {"id": 2}\n{"id": "é"}\r\n\n';
    for (const size of [1, 3, 100]) {
      const { items, error } = await collect(text, {}, size);
      expect(error).toBeUndefined();
      expect(items.map((i) => i.ok && i.value)).toEqual([{ id: '1' }, { id: 2 }, { id: 'é' }]);
      expect(places(items)).toEqual([
        [0, 1, 1, 11],
        [17, 3, 3, 9],
        [27, 4, 1, 12],
      ]);
      expect(items.map((i) => i.text)).toEqual(['{"id": "1"}', '{"id": 2}', '{"id": "é"}']);
    }
  });

  it('reads a last line without newline, and any value with container jsonl', async () => {
    expect((await collect('{"a": 1}\n{"b": 2}')).values).toEqual([{ a: 1 }, { b: 2 }]);
    expect((await collect('1\n"x"\n[2]\n', { container: 'jsonl' })).values).toEqual([1, 'x', [2]]);
  });

  it('throws input/empty for blank lines only', async () => {
    const { error } = await collect('\n\n', { container: 'jsonl' });
    expect(error?.diagnostic.ruleId).toBe('input/empty');
  });
});

describe('readRecords: inputs', () => {
  it('reads files, Node streams and reports missing files and directories', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, '[{"id": "1"}]');
    const fromFile: unknown[] = [];
    const progress: [number, number | undefined][] = [];
    for await (const v of readValues(file, { onProgress: (b, t) => progress.push([b, t]) })) fromFile.push(v);
    expect(fromFile).toEqual([{ id: '1' }]);
    expect(progress.at(-1)).toEqual([13, 13]);
    const fromStream: unknown[] = [];
    for await (const v of readValues(Readable.from([Buffer.from('[{"id"'), Buffer.from(': "2"}]')])))
      fromStream.push(v);
    expect(fromStream).toEqual([{ id: '2' }]);
    const stringStream = Readable.from(['{"id": 3}\n'], { objectMode: true });
    const fromStrings: unknown[] = [];
    for await (const v of readValues(stringStream)) fromStrings.push(v);
    expect(fromStrings).toEqual([{ id: 3 }]);

    const missing = readValues(join(dir, 'nope.json'), { file: 'nope.json' });
    await expect(missing.next()).rejects.toMatchObject({
      diagnostic: { ruleId: 'input/not-found', file: 'nope.json' },
    });
    await mkdir(join(dir, 'sub'));
    await expect(readValues(join(dir, 'sub')).next()).rejects.toMatchObject({
      diagnostic: { ruleId: 'input/is-directory' },
    });
  });

  it('readValues throws the diagnostic of the first broken record', async () => {
    const seen: unknown[] = [];
    const run = async () => {
      for await (const v of readValues(chunked('[{"a": 1}, {"b": }, {"c": 3}]'))) seen.push(v);
    };
    await expect(run()).rejects.toSatisfy(
      (e: unknown) => DiagnosticError.is(e) && e.diagnostic.ruleId === 'json/syntax' && e.diagnostic.recordIndex === 1,
    );
    expect(seen).toEqual([{ a: 1 }]);
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    const seen: unknown[] = [];
    const run = async () => {
      for await (const item of readRecords(chunked('[1, 2, 3, 4, 5, 6]', 2), { signal: controller.signal })) {
        seen.push(item.ok && item.value);
        controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1]);
  });

  it('closes the file when the consumer stops early', async () => {
    const file = join(dir, 'many.json');
    await writeFile(file, JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ i }))));
    let n = 0;
    for await (const _ of readRecords(file, { chunkSize: 64 })) if (++n === 3) break;
    expect(n).toBe(3);
  });
});

describe('readRecordBatches', () => {
  const batchesOf = async (text: string, size: number, options: ReadOptions = {}) => {
    const batches: (readonly ReadItem[])[] = [];
    for await (const batch of readRecordBatches(chunked(text, size), { file: 't.json', ...options }))
      batches.push(batch);
    return batches;
  };

  it('yields the records of readRecords, broken ones included, one non-empty batch per chunk', async () => {
    const text = '[\n  {"a": 1},\n  {"b": [1,]},\n  {"c": "\\"x\\""},\n  4,\n  {"e": 5}\n]';
    for (const size of [3, 16, 1000]) {
      const batches = await batchesOf(text, size);
      const { items } = await collect(text, {}, size);
      expect(items.map((i) => i.ok)).toEqual([true, false, true, true, true]);
      expect(batches.every((b) => b.length > 0)).toBe(true);
      expect(batches.flat()).toEqual(items);
      if (size === 1000) expect(batches).toHaveLength(1);
      if (size === 3) expect(batches.length).toBeGreaterThan(3);
    }
  });

  it('batches the stream-json engine too', async () => {
    const text = `[${Array.from({ length: 600 }, (_, i) => `{"i": ${i}}`).join(',')}]`;
    const batches = await batchesOf(text, 64, { engine: 'stream-json' });
    expect(batches.map((b) => b.length)).toEqual([256, 256, 88]);
    expect(batches.flat().map((i) => i.ok && i.value)).toEqual(Array.from({ length: 600 }, (_, i) => ({ i })));
  });

  it('throws the fatal diagnostic after the batches before it', async () => {
    const seen: unknown[] = [];
    const read = async () => {
      for await (const batch of readRecordBatches(chunked('[{"a": 1}, {"b": 2}', 4), { file: 't.json' })) {
        for (const item of batch) seen.push(item.ok && item.value);
      }
    };
    await expect(read()).rejects.toMatchObject({ diagnostic: { ruleId: 'json/truncated' } });
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('detectContainer', () => {
  it.each([
    ['[{"a": 1}]', 'json'],
    ['\uFEFF  \n[', 'json'],
    ['{"a": 1}\n{"a": 2}\n', 'jsonl'],
    ['{"a": "x', 'jsonl'],
    ['{\n  "a": 1\n}\n', 'json'],
    ['"just a string"', 'json'],
    ['', 'unknown'],
    ['  \n', 'unknown'],
    ['<html>', 'unknown'],
  ])('%j → %s', (head, expected) => {
    expect(detectContainer(Buffer.from(head))).toBe(expected);
  });
});

describe('readerRules', () => {
  it('has the fatal rule ids with one-line hints', () => {
    const ids = Object.values(readerRules).map((r) => r.id);
    for (const id of [
      'json/syntax',
      'input/not-found',
      'input/is-directory',
      'input/empty',
      'json/not-array',
      'json/truncated',
      'encoding/invalid-utf8',
      'json/too-deep',
      'json/record-too-large',
    ]) {
      expect(ids).toContain(id);
    }
    for (const rule of Object.values(readerRules)) expect(rule.hint).toMatch(/^[^\n]+$/);
  });
});
