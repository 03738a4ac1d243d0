import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { convert } from './convert.js';
import {
  expandInputs,
  hubShardName,
  isShardDone,
  mergeSummaries,
  mergeSummaryFiles,
  parseShard,
  selectShard,
  shardOutput,
  shardResultPaths,
  writeShardResult,
} from './shard.js';

const ruleOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (DiagnosticError.is(error)) return error.diagnostic.ruleId;
    throw error;
  }
  return undefined;
};

describe('parseShard', () => {
  it('reads 0-based k of n', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(parseShard(' 2 / 8 ')).toEqual({ index: 2, count: 8 });
  });
  it.each(['4/4', '5/4', '0/0', '-1/4', '1', '1/2/3', 'a/b', '1.5/4', '', '1/'])('refuses %j as usage/shard', (t) => {
    expect(ruleOf(() => parseShard(t))).toBe('usage/shard');
  });
});

describe('selectShard', () => {
  it('deals several files round-robin: k, k+n, …', () => {
    const files = ['a', 'b', 'c', 'd', 'e'];
    expect(selectShard(files, { index: 0, count: 2 })).toMatchObject({ inputs: ['a', 'c', 'e'], by: 'files' });
    expect(selectShard(files, { index: 1, count: 2 })).toMatchObject({ inputs: ['b', 'd'], by: 'files' });
    expect(selectShard(files, { index: 1, count: 2 }).keepRecord).toBeUndefined();
    expect(selectShard(['a', 'b'], { index: 2, count: 3 }).inputs).toEqual([]);
  });
  it('deals the records of one file by index mod n', () => {
    const { keepRecord, by } = selectShard(['one.json'], { index: 1, count: 3 });
    expect(by).toBe('records');
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => keepRecord!(i))).toEqual([1, 4, 7]);
  });

  test.prop([fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 12 })])(
    'the shards of any n partition the records of one file, in order',
    (records, n) => {
      const indexes = Array.from({ length: records }, (_, i) => i);
      const shards = Array.from({ length: n }, (_, k) => {
        const { keepRecord } = selectShard(['x'], { index: k, count: n });
        return keepRecord ? indexes.filter(keepRecord) : indexes;
      });
      // every record in exactly one shard
      expect(shards.flat().sort((a, b) => a - b)).toEqual(indexes);
      // dealing back round-robin (record i is record ⌊i/n⌋ of shard i mod n) restores the order
      const dealt = indexes.map((i) => shards[i % n]![Math.floor(i / n)]);
      expect(dealt).toEqual(indexes);
    },
  );

  test.prop([
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 30 }),
    fc.integer({ min: 1, max: 9 }),
  ])('the shards of any n partition several files, each shard in the sorted order', (files, n) => {
    const sorted = [...files].sort();
    const shards = Array.from({ length: n }, (_, k) => selectShard(sorted, { index: k, count: n }).inputs);
    expect(shards.flat().sort()).toEqual(sorted);
    for (const shard of shards) expect(shard).toEqual([...shard].sort());
  });
});

describe('shardOutput', () => {
  it('expands {shard} and {shards} with five digits', () => {
    expect(shardOutput('out/part-{shard}-of-{shards}.jsonl', { index: 3, count: 12 })).toBe(
      'out/part-00003-of-00012.jsonl',
    );
  });
  it('gives a folder format the Hub name, keeps stdout, and refuses one name for many shards', () => {
    expect(hubShardName({ index: 0, count: 4 })).toBe('train-00000-of-00004.parquet');
    expect(shardOutput('hub', { index: 2, count: 4 }, { folderFormat: true })).toBe(
      join('hub', 'data', 'train-00002-of-00004.parquet'),
    );
    expect(shardOutput('hub', { index: 2, count: 4 }, { folderFormat: true, split: 'validation' })).toBe(
      join('hub', 'data', 'validation-00002-of-00004.parquet'),
    );
    expect(shardOutput('-', { index: 1, count: 2 })).toBe('-');
    expect(shardOutput('out.json', { index: 0, count: 1 })).toBe('out.json');
    expect(ruleOf(() => shardOutput('out.json', { index: 0, count: 2 }))).toBe('usage/shard-output');
    expect(ruleOf(() => shardOutput('one.parquet', { index: 0, count: 2 }, { folderFormat: true }))).toBe(
      'usage/shard-output',
    );
  });
});

describe('mergeSummaries', () => {
  it('sums counts, merges maps, concatenates lists, or-s failures and drops shard ids', () => {
    const merged = mergeSummaries([
      {
        shard: '0/2',
        to: 'sharegpt',
        output: 'a.json',
        read: 3,
        written: 2,
        rejected: 1,
        failed: false,
        rejectedByRule: { 'schema/x': 1 },
        diagnostics: { error: 1, warning: 0, info: 2 },
        inputs: [{ file: 'a' }],
      },
      {
        shard: '1/2',
        to: 'sharegpt',
        output: 'b.json',
        read: 4,
        written: 4,
        rejected: 0,
        failed: true,
        rejectedByRule: { 'schema/y': 2 },
        diagnostics: { error: 0, warning: 5, info: 0 },
        inputs: [{ file: 'b' }],
      },
    ]);
    expect(merged).toEqual({
      merged: 2,
      to: 'sharegpt',
      output: { values: ['a.json', 'b.json'] },
      read: 7,
      written: 6,
      rejected: 1,
      failed: true,
      rejectedByRule: { 'schema/x': 1, 'schema/y': 2 },
      diagnostics: { error: 1, warning: 5, info: 2 },
      inputs: [{ file: 'a' }, { file: 'b' }],
    });
  });
  it('keeps ok only when every shard is ok, and lists values the shards disagree on', () => {
    expect(mergeSummaries([{ ok: true }, { ok: false }, { ok: true }]).ok).toBe(false);
    expect(mergeSummaries([{ ok: true }, { ok: true }]).ok).toBe(true);
    expect(mergeSummaries([{ to: 'a' }, { to: 'b' }, { to: 'a' }, { to: 'c' }]).to).toEqual({
      values: ['a', 'b', 'c'],
    });
    expect(
      mergeSummaries([{ total: { references: 2, byStatus: { missing: 1 } } }, { total: { references: 3 } }]),
    ).toEqual({
      merged: 2,
      total: { references: 5, byStatus: { missing: 1 } },
    });
  });
  test.prop([fc.array(fc.record({ read: fc.nat(1000), written: fc.nat(1000) }), { minLength: 1, maxLength: 10 })])(
    'merged counts are the sums of the shards',
    (parts) => {
      const merged = mergeSummaries(parts);
      expect(merged.read).toBe(parts.reduce((n, p) => n + p.read, 0));
      expect(merged.written).toBe(parts.reduce((n, p) => n + p.written, 0));
    },
  );
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-shard-'));
    await mkdir(join(dir, 'data/sub'), { recursive: true });
    for (const name of ['b.json', 'a.json', 'c.jsonl', 'sub/d.json', '.hidden.json']) {
      await writeFile(join(dir, 'data', name), '[]');
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('expands globs and sorts the whole list', async () => {
    expect(await expandInputs(['data/*.json', 'data/c.jsonl'], dir)).toEqual([
      'data/a.json',
      'data/b.json',
      'data/c.jsonl',
    ]);
    expect(await expandInputs(['data/**/*.json'], dir)).toEqual(['data/a.json', 'data/b.json', 'data/sub/d.json']);
    expect(await expandInputs([join(dir, 'data/{c,a}.*')])).toEqual([
      join(dir, 'data/a.json'),
      join(dir, 'data/c.jsonl'),
    ]);
    await expect(expandInputs(['data/*.csv'], dir)).rejects.toMatchObject({
      diagnostic: { ruleId: 'usage/shard-no-inputs' },
    });
  });

  it('writes the summary then the done marker, and knows a finished shard of the same run only', async () => {
    const output = join(dir, 'part-00000-of-00002.json');
    const marker = { shard: '0/2', inputs: ['a.json'], output };
    expect(await isShardDone(output, marker)).toBe(false);
    await writeFile(output, '[]');
    await writeShardResult(output, marker, { read: 1, written: 1, rejected: 0 });
    expect(JSON.parse(await readFile(shardResultPaths(output).summary, 'utf8'))).toEqual({
      shard: '0/2',
      read: 1,
      written: 1,
      rejected: 0,
    });
    expect(await isShardDone(output, marker)).toBe(true);
    expect(await isShardDone(output, { ...marker, shard: '0/3' })).toBe(false);
    expect(await isShardDone(output, { ...marker, inputs: ['b.json'] })).toBe(false);
    expect(shardResultPaths(output).done).toBe(join(dir, '.part-00000-of-00002.json.done'));
    expect(await mergeSummaryFiles([dir])).toMatchObject({ merged: 1, read: 1 });
    await rm(output);
    expect(await isShardDone(output, marker)).toBe(false);
    expect(await mergeSummaryFiles([shardResultPaths(output).summary, shardResultPaths(output).summary])).toMatchObject(
      {
        merged: 2,
        read: 2,
      },
    );
    await expect(mergeSummaryFiles([join(dir, 'data/missing.json')])).rejects.toMatchObject({
      diagnostic: { ruleId: 'usage/shard-no-inputs' },
    });
  });

  it('convert with keepRecord reads only the shard records: read = written + rejected per shard', async () => {
    const records = Array.from({ length: 7 }, (_, i) => ({
      id: `r${i}`,
      conversations: [
        { from: 'human', value: `q${i}` },
        { from: 'gpt', value: i === 4 ? '' : `a${i}` },
      ],
    }));
    const input = join(dir, 'seven.json');
    await writeFile(input, JSON.stringify(records));
    const ids: string[][] = [];
    for (let k = 0; k < 3; k++) {
      const { inputs, keepRecord } = selectShard([input], { index: k, count: 3 });
      const output = join(dir, `seven-${k}.jsonl`);
      const summary = await convert({
        inputs,
        to: 'llava',
        output,
        registry: createBuiltinRegistry(),
        ...(keepRecord ? { keepRecord } : {}),
      });
      expect(summary.read).toBe(summary.written + summary.rejected);
      expect(summary.read).toBe([3, 2, 2][k]);
      const text = await readFile(output, 'utf8');
      ids.push(
        text
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { id: string }).id),
      );
    }
    expect(ids[0]).toEqual(['r0', 'r3', 'r6']);
    expect(ids[1]![0]).toBe('r1');
    expect(ids[2]).toEqual(['r2', 'r5']);
  });
});
