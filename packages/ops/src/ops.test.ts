import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { DiagnosticError } from '@llavakit/diagnostics';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupRecords } from './dedup.js';
import { filterRecords } from './filter.js';
import { sampleRecords } from './sample.js';
import { splitRecords } from './split.js';
import { readJson, readLines, rec, registry, tempDir, writeJson } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const many = (n: number, prefix = 'r') =>
  Array.from({ length: n }, (_, i) =>
    rec(
      `${prefix}${i}`,
      `Question ${i}?`,
      i % 3 === 0 ? undefined : `${i % 2 ? 'coco' : 'gqa'}/x/${i}.jpg`,
      `Answer ${i}.`,
    ),
  );

describe('filterRecords', () => {
  it('rejects over-long records with the measured length, and keeps the accounting', async () => {
    const long = rec('long', 'word '.repeat(3000));
    const input = await writeJson(join(dir, 'f.json'), [rec('a', 'Short?', 'coco/a.jpg'), long, rec('b', 'Hi')]);
    const output = join(dir, 'f.out.json');
    const rejects = join(dir, 'f.rejects.jsonl');
    const s = await filterRecords({ inputs: [input], registry, output, rejects, maxTokens: 2048, template: 'v1' });
    expect(s).toMatchObject({ read: 3, written: 2, rejected: 1, rejectedByRule: { 'length/over-max': 1 } });
    expect((await readJson(output)).map((r) => r.id)).toEqual(['a', 'b']);
    const [line] = await readLines(rejects);
    const d = (line!.diagnostics as { ruleId: string; recordId: string; data: { tokens: number } }[])[0]!;
    expect(d.ruleId).toBe('length/over-max');
    expect(d.recordId).toBe('long');
    expect(d.data.tokens).toBeGreaterThan(3000);
    expect(line!.record).toEqual(long);
  });

  it('filters by turns, image, text-only and source', async () => {
    const input = await writeJson(join(dir, 'g.json'), many(9));
    const out = join(dir, 'g.out.json');
    const bySource = await filterRecords({ inputs: [input], registry, output: out, sources: ['coco'] });
    expect(bySource.written).toBe((await readJson(out)).length);
    expect((await readJson(out)).every((r) => String(r.image).startsWith('coco/'))).toBe(true);
    expect(bySource.rejectedByRule['filter/source']).toBe(9 - bySource.written);
    const textOnly = await filterRecords({ inputs: [input], registry, output: out, textOnly: true });
    expect(textOnly.written).toBe(3);
    const hasImage = await filterRecords({ inputs: [input], registry, output: out, hasImage: true });
    expect(hasImage.written).toBe(6);
    const turns = await filterRecords({ inputs: [input], registry, output: out, minTurns: 3 });
    expect(turns).toMatchObject({ written: 0, rejected: 9, rejectedByRule: { 'filter/min-turns': 9 } });
    await expect(
      filterRecords({ inputs: [input], registry, output: out, hasImage: true, textOnly: true }),
    ).rejects.toThrow(DiagnosticError);
  });

  it('writes nothing when an input is broken beyond repair', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[{"conversations": [] }, {"conversations": [');
    const out = join(dir, 'never.json');
    const s = await filterRecords({ inputs: [bad], registry, output: out, minTurns: 0 });
    expect(s.failed).toBe(true);
    expect(s.fatal?.ruleId).toMatch(/^json\//);
    expect(existsSync(out)).toBe(false);
  });
});

describe('dedupRecords', () => {
  it('removes conversation duplicates, naming the kept record', async () => {
    const a = await writeJson(join(dir, 'd1.json'), [rec('x', 'Same  question?', 'coco/1.jpg'), rec('y', 'Other')]);
    const b = await writeJson(join(dir, 'd2.json'), [rec('z', 'Same question?', 'coco/2.jpg'), rec('w', 'Other')]);
    const output = join(dir, 'd.out.json');
    const rejects = join(dir, 'd.rejects.jsonl');
    const s = await dedupRecords({ inputs: [a, b], registry, output, rejects, by: 'conversation' });
    expect(s).toMatchObject({ read: 4, written: 2, rejected: 2, groups: 2 });
    const lines = await readLines(rejects);
    const data = lines.map((l) => (l.diagnostics as { data: Record<string, unknown> }[])[0]!.data);
    expect(data).toEqual([
      { keptFile: a, keptIndex: 0, keptId: 'x', by: 'conversation' },
      { keptFile: a, keptIndex: 1, keptId: 'y', by: 'conversation' },
    ]);
    // by both: different images make them different samples
    const both = await dedupRecords({ inputs: [a, b], registry, output, by: 'both' });
    expect(both.rejected).toBe(1); // only the text-only pair (no image on either side)
  });

  it('names kept records with integer, unicode and missing ids', async () => {
    const records = [
      rec(7, 'Q1'),
      { conversations: rec('', 'Q2').conversations },
      rec('日本語-ид', 'Q3'),
      rec('dup1', 'Q1'),
      rec('dup2', 'Q2'),
      rec('dup3', 'Q3'),
    ];
    const input = await writeJson(join(dir, 'ids.json'), records);
    const rejects = join(dir, 'ids.rejects.jsonl');
    await dedupRecords({ inputs: [input], registry, output: join(dir, 'ids.out.json'), rejects, by: 'conversation' });
    const data = (await readLines(rejects)).map((l) => (l.diagnostics as { data: Record<string, unknown> }[])[0]!.data);
    expect(data.map((d) => [d.keptIndex, d.keptId])).toEqual([
      [0, 7],
      [1, undefined],
      [2, '日本語-ид'],
    ]);
  });

  it('finds one image under two names by its bytes', async () => {
    const images = join(dir, 'imgs');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(images, 'coco'), { recursive: true });
    const jpeg = encodeTinyImage('jpeg', { width: 4, height: 3 });
    await writeFile(join(images, 'coco', 'one.jpg'), jpeg);
    await writeFile(join(images, 'coco', 'copy.jpg'), jpeg);
    await writeFile(join(images, 'coco', 'other.png'), encodeTinyImage('png', { width: 2, height: 2 }));
    const input = await writeJson(join(dir, 'imgs.json'), [
      rec('1', 'A', 'coco/one.jpg'),
      rec('2', 'B', 'coco/copy.jpg'),
      rec('3', 'C', 'coco/other.png'),
      rec('4', 'D'),
    ]);
    const output = join(dir, 'imgs.out.json');
    const s = await dedupRecords({ inputs: [input], registry, output, by: 'image', images: [images] });
    expect(s).toMatchObject({ written: 3, rejected: 1, groups: 1, unreadableImages: 0 });
    expect(s.largest[0]).toMatchObject({ keptIndex: 0, keptId: '1', removed: 1 });
  });

  test.prop([fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 2 })), { maxLength: 40 })], {
    numRuns: 15,
  })('is idempotent and keeps one record per distinct conversation', async (pairs) => {
    const records = pairs.map(([q, a], i) => rec(`r${i}`, `Q${q}`, undefined, `A${a}`));
    const input = await writeJson(join(dir, 'p.json'), records);
    const once = join(dir, 'p1.json');
    const twice = join(dir, 'p2.json');
    const s1 = await dedupRecords({ inputs: [input], registry, output: once, by: 'conversation' });
    const s2 = await dedupRecords({ inputs: [once], registry, output: twice, by: 'conversation' });
    expect(s1.written).toBe(new Set(pairs.map(([q, a]) => `${q}/${a}`)).size);
    expect(s1.read).toBe(s1.written + s1.rejected);
    expect(s2.rejected).toBe(0);
    expect(await readFile(twice, 'utf8')).toBe(await readFile(once, 'utf8'));
  });
});

describe('splitRecords', () => {
  const ids = async (path: string) => (await readJson(path)).map((r) => r.id);

  test.prop([fc.integer({ min: 0, max: 60 }), fc.integer(), fc.constantFrom(0.1, 0.5, 3)], { numRuns: 15 })(
    'is a deterministic partition',
    async (n, seed, share) => {
      const input = await writeJson(join(dir, 's.json'), many(n));
      const run = async (tag: string) => {
        const train = join(dir, `s.${tag}.train.json`);
        const evalOutput = join(dir, `s.${tag}.eval.json`);
        const s = await splitRecords({ inputs: [input], registry, output: train, evalOutput, eval: share, seed });
        return { s, train: await ids(train), eval: await ids(evalOutput) };
      };
      const a = await run('a');
      const b = await run('b');
      expect(b.train).toEqual(a.train);
      expect(b.eval).toEqual(a.eval);
      expect([...a.train, ...a.eval].sort()).toEqual(
        many(n)
          .map((r) => r.id)
          .sort(),
      );
      expect(new Set([...a.train, ...a.eval]).size).toBe(n);
      expect(a.s.read).toBe(a.s.written + a.s.rejected);
      if (share >= 1) expect(a.eval).toHaveLength(Math.min(share, n));
    },
  );

  it('keeps each record on its side when the file grows (fraction)', async () => {
    const small = await writeJson(join(dir, 'grow1.json'), many(200));
    const big = await writeJson(join(dir, 'grow2.json'), [...many(200), ...many(300, 'new')]);
    const side = async (input: string) => {
      const evalOutput = join(dir, 'grow.eval.json');
      await splitRecords({
        inputs: [input],
        registry,
        output: join(dir, 'grow.train.json'),
        evalOutput,
        eval: 0.2,
        seed: 7,
      });
      return new Set(await ids(evalOutput));
    };
    const before = await side(small);
    const after = await side(big);
    for (const r of many(200)) expect(after.has(r.id!)).toBe(before.has(r.id!));
    expect(before.size).toBeGreaterThan(15);
    expect(before.size).toBeLessThan(65);
  });

  it('stratifies by source exactly', async () => {
    const input = await writeJson(join(dir, 'strat.json'), many(90));
    const s = await splitRecords({
      inputs: [input],
      registry,
      output: join(dir, 'st.train.json'),
      evalOutput: join(dir, 'st.eval.json'),
      eval: 0.1,
      by: 'source',
      seed: 1,
    });
    expect(s.eval).toBe(9);
    expect(s.evalBySource).toEqual({ 'text-only': 3, coco: 3, gqa: 3 });
  });

  it('refuses a bad share', async () => {
    const input = await writeJson(join(dir, 'x.json'), many(3));
    await expect(
      splitRecords({
        inputs: [input],
        registry,
        output: join(dir, 'a.json'),
        evalOutput: join(dir, 'b.json'),
        eval: 1.5,
      }),
    ).rejects.toThrow(/--eval/);
  });
});

describe('sampleRecords', () => {
  test.prop([fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 100 }), fc.integer()], { numRuns: 15 })(
    'draws exactly min(n, records), a subset in input order, the same for the same seed',
    async (size, n, seed) => {
      const records = many(size);
      const input = await writeJson(join(dir, 'sa.json'), records);
      const out = join(dir, 'sa.out.json');
      const s = await sampleRecords({ inputs: [input], registry, output: out, n, seed });
      const drawn = (await readJson(out)).map((r) => r.id);
      expect(drawn).toHaveLength(Math.min(n, size));
      expect(s).toMatchObject({ read: size, written: drawn.length, rejected: size - drawn.length, population: size });
      const order = records.map((r) => r.id);
      expect(drawn).toEqual(order.filter((id) => drawn.includes(id)));
      await sampleRecords({ inputs: [input], registry, output: out, n, seed });
      expect((await readJson(out)).map((r) => r.id)).toEqual(drawn);
    },
  );

  it('reads only the drawn records the second time, and draws the same ones with a rejects file', async () => {
    const a = await writeJson(join(dir, 'sa-a.json'), many(40, 'a'));
    const b = join(dir, 'sa-b.jsonl');
    await writeFile(
      b,
      `${many(30, 'b')
        .map((r) => JSON.stringify(r))
        .join('\n')}\n{"conversations": 1}\n`,
    );
    for (const draw of [{ n: 12 }, { fraction: 0.25 }]) {
      const fast = join(dir, 'sa-fast.json');
      const full = join(dir, 'sa-full.json');
      const rejects = join(dir, 'sa.rejects.jsonl');
      const s1 = await sampleRecords({ inputs: [a, b], registry, output: fast, seed: 5, ...draw });
      const s2 = await sampleRecords({ inputs: [a, b], registry, output: full, seed: 5, rejects, ...draw });
      expect(s1.secondPass).toBe('byte-offsets');
      expect(s2.secondPass).toBe('full');
      expect(await readFile(fast, 'utf8')).toBe(await readFile(full, 'utf8'));
      const { durationMs: _a, secondPass: _b, outputs: _e, ...c1 } = s1;
      const { durationMs: _c, secondPass: _d, outputs: _f, ...c2 } = s2;
      expect(c1).toEqual(c2);
      expect(s1).toMatchObject({ read: 71, population: 70, written: s1.drawn });
      expect(s1.rejectedByRule).toEqual({ 'record/schema': 1, 'sample/not-selected': 70 - s1.drawn });
      expect(s1.inputs.map((i) => i.read)).toEqual([40, 31]);
      expect((await readLines(rejects)).length).toBe(71 - s1.drawn);
    }
  });

  it('draws a fraction, and rejects the others with sample/not-selected', async () => {
    const input = await writeJson(join(dir, 'fr.json'), many(50));
    const rejects = join(dir, 'fr.rejects.jsonl');
    const s = await sampleRecords({
      inputs: [input],
      registry,
      output: join(dir, 'fr.out.jsonl'),
      fraction: 0.1,
      seed: 3,
      rejects,
    });
    expect(s.written).toBe(5);
    expect((await readLines(rejects)).map((l) => (l.diagnostics as { ruleId: string }[])[0]!.ruleId)).toEqual(
      Array(45).fill('sample/not-selected'),
    );
    expect((await readFile(join(dir, 'fr.out.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(5);
    await expect(
      sampleRecords({ inputs: [input], registry, output: join(dir, 'x.json'), n: 1, fraction: 0.5 }),
    ).rejects.toThrow(/exactly one/);
    await expect(sampleRecords({ inputs: ['-'], registry, output: join(dir, 'x.json'), n: 1 })).rejects.toThrow(
      /standard input/,
    );
  });
});

describe('outputs', () => {
  it('write llava records exactly as read, JSON Lines on one line each, and other formats re-encoded', async () => {
    const records = [rec(1, 'Q  with   spaces', 'coco/1.jpg'), rec('b', 'Ünïcode ✓')];
    const pretty = join(dir, 'pretty.json');
    await writeFile(pretty, JSON.stringify(records, null, 4));
    const asJson = join(dir, 'same.json');
    await filterRecords({ inputs: [pretty], registry, output: asJson });
    const text = await readFile(asJson, 'utf8');
    expect(text).toContain(JSON.stringify(records[0], null, 4).replaceAll('\n', '\n    '));
    expect(JSON.parse(text)).toEqual(records);
    const asLines = join(dir, 'same.jsonl');
    await filterRecords({ inputs: [pretty], registry, output: asLines });
    expect((await readFile(asLines, 'utf8')).split('\n')).toEqual([...records.map((r) => JSON.stringify(r)), '']);
    const sharegpt = join(dir, 'sharegpt.json');
    await filterRecords({ inputs: [pretty], registry, output: sharegpt, to: 'sharegpt' });
    const back = join(dir, 'back.json');
    const s = await filterRecords({ inputs: [sharegpt], registry, output: back });
    expect(s.inputs[0]!.format).toBe('sharegpt');
    expect(await readJson(back)).toEqual(records);
    const empty = join(dir, 'empty.json');
    await filterRecords({ inputs: [pretty], registry, output: empty, minTurns: 9 });
    expect(JSON.parse(await readFile(empty, 'utf8'))).toEqual([]);
  });
});

describe('plugins', () => {
  it('a format that throws rejects records, it does not take the operation down', async () => {
    const { FormatRegistry } = await import('@llavakit/convert');
    const withBroken = new FormatRegistry();
    for (const entry of registry.list()) withBroken.add(entry.format, entry.origin);
    withBroken.add(
      {
        specVersion: 1,
        name: 'broken',
        encode: (record) => {
          if (record.id === 'b') throw new Error('boom');
          return { ok: true, value: record };
        },
        decode: (value) => {
          if ((value as { id?: string }).id === 'x') throw new Error('bang');
          return { ok: true, record: value as never };
        },
      },
      { plugin: 'test', via: 'specifier' },
    );
    const input = await writeJson(join(dir, 'plugin.json'), [rec('a', 'Q'), rec('b', 'Q'), rec('x', 'Q')]);
    const output = join(dir, 'plugin.out.json');
    const s = await filterRecords({ inputs: [input], registry: withBroken, from: 'broken', to: 'broken', output });
    expect(s).toMatchObject({ read: 3, written: 1, rejected: 2, rejectedByRule: { 'format/encode-failed': 2 } });
  });
});
