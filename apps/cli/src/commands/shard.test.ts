import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';

const record = (i: number) => ({
  id: `rec-${String(i).padStart(3, '0')}`,
  ...(i % 3 === 0 ? {} : { image: `img/${i}.jpg` }),
  conversations: [
    { from: 'human', value: `${i % 3 === 0 ? '' : '<image>\n'}Question ${i}?` },
    { from: 'gpt', value: `Answer ${i}.` },
  ],
});

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter((line) => line.length > 0);

interface ShardSummary {
  shard: string;
  read: number;
  written: number;
  rejected: number;
  inputs: { file: string; written: number }[];
}

describe('convert --shard k/n across real processes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-shard-'));
    await writeFile(join(dir, 'one.json'), JSON.stringify(Array.from({ length: 23 }, (_, i) => record(i))));
    await mkdir(join(dir, 'many'));
    // five files of different sizes, created out of name order
    for (const [name, from, to] of [
      ['d.jsonl', 0, 4],
      ['a.jsonl', 4, 5],
      ['c.jsonl', 5, 12],
      ['e.jsonl', 12, 15],
      ['b.jsonl', 15, 21],
    ] as const) {
      const text = Array.from({ length: to - from }, (_, i) => JSON.stringify(record(from + i))).join('\n');
      await writeFile(join(dir, 'many', name), `${text}\n`);
    }
  });
  afterAll(() => cleanup());

  const n = 3;
  const shardRuns = (input: string, out: string, extra: string[] = []) =>
    Promise.all(
      Array.from({ length: n }, (_, k) =>
        runCli(['convert', input, '--to', 'sharegpt', '-o', out, '--shard', `${k}/${n}`, ...extra], { cwd: dir }),
      ),
    );

  it('one file: records by index mod n; dealt back round-robin they are the single-process output', async () => {
    const single = await runCli(['convert', 'one.json', '--to', 'sharegpt', '-o', 'single.jsonl'], { cwd: dir });
    expect(single.code, single.stderr).toBe(0);
    const runs = await shardRuns('one.json', 'one/part-{shard}-of-{shards}.jsonl');
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const shards = await Promise.all(
      Array.from({ length: n }, (_, k) => lines(join(dir, `one/part-0000${k}-of-00003.jsonl`))),
    );
    expect(shards.map((s) => s.length)).toEqual([8, 8, 7]);
    const expected = await lines(join(dir, 'single.jsonl'));
    const dealt = expected.map((_, i) => shards[i % n]![Math.floor(i / n)]);
    expect(dealt).toEqual(expected);

    // each shard left its summary beside its output; merged they account for every record
    const summary = JSON.parse(
      await readFile(join(dir, 'one/.part-00001-of-00003.jsonl.summary.json'), 'utf8'),
    ) as ShardSummary;
    expect(summary).toMatchObject({ shard: '1/3', read: 8, written: 8, rejected: 0 });
    const merged = await runCli(['summaries', 'merge', 'one', '--json'], { cwd: dir });
    expect(merged.code, merged.stderr).toBe(0);
    expect(JSON.parse(merged.stdout)).toMatchObject({ merged: 3, read: 23, written: 23, rejected: 0, failed: false });
    const text = await runCli(['summaries', 'merge', 'one'], { cwd: dir });
    expect(text.stdout).toContain('read 23, written 23, rejected 0');
  });

  it('a rerun skips the finished shards (done marker) and redoes one whose marker is gone', async () => {
    const out = (k: number) => join(dir, `one/part-0000${k}-of-00003.jsonl`);
    const before = await Promise.all([0, 1, 2].map(async (k) => (await stat(out(k))).mtimeMs));
    await rm(join(dir, 'one/.part-00002-of-00003.jsonl.done'));
    await writeFile(out(1), 'tampered: a finished shard is not rewritten\n');
    const runs = await shardRuns('one.json', 'one/part-{shard}-of-{shards}.jsonl');
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs[0]!.stderr).toContain('shard 0/3 already done');
    expect(runs[1]!.stderr).toContain('shard 1/3 already done');
    expect(runs[2]!.stderr).toContain('Converted');
    expect((await stat(out(0))).mtimeMs).toBe(before[0]);
    expect(await readFile(out(1), 'utf8')).toContain('tampered');
    expect((await stat(out(2))).mtimeMs).toBeGreaterThan(before[2]!);
    expect(await lines(out(2))).toHaveLength(7);
  });

  it('several files: the sorted files dealt round-robin; per-file runs in file order are the single output', async () => {
    const sorted = ['a', 'b', 'c', 'd', 'e'].map((x) => `many/${x}.jsonl`);
    const single = await runCli(['convert', ...sorted, '--to', 'sharegpt', '-o', 'many-single.jsonl'], { cwd: dir });
    expect(single.code, single.stderr).toBe(0);
    // the glob (quoted: the CLI expands it) is expanded and sorted in every process
    const runs = await shardRuns('many/*.jsonl', 'many-out/{shard}.jsonl');
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const byFile = new Map<string, string[]>();
    for (let k = 0; k < n; k++) {
      const output = await lines(join(dir, `many-out/0000${k}.jsonl`));
      const summary = JSON.parse(
        await readFile(join(dir, `many-out/.0000${k}.jsonl.summary.json`), 'utf8'),
      ) as ShardSummary;
      expect(summary.inputs.map((i) => i.file)).toEqual(sorted.filter((_, i) => i % n === k));
      let at = 0;
      for (const input of summary.inputs) {
        byFile.set(input.file, output.slice(at, at + input.written));
        at += input.written;
      }
      expect(at).toBe(output.length);
    }
    expect(sorted.flatMap((file) => byFile.get(file)!)).toEqual(await lines(join(dir, 'many-single.jsonl')));
  });

  it('parquet shards take the Hub names inside the folder', async () => {
    const runs = await Promise.all(
      [0, 1].map((k) =>
        runCli(['convert', 'one.json', '--to', 'parquet', '-o', 'hub', '--shard', `${k}/2`], { cwd: dir }),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    // DuckDB, an independent reader: shard k holds the records with index mod 2 = k, in order
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const idsOf = async (file: string) =>
      (await (await connection.runAndReadAll(`SELECT id FROM read_parquet('${file}')`)).getRowObjects()).map((row) =>
        String(row.id),
      );
    const all = Array.from({ length: 23 }, (_, i) => record(i).id);
    for (const k of [0, 1]) {
      const ids = await idsOf(join(dir, `hub/data/train-0000${k}-of-00002.parquet`));
      expect(ids).toEqual(all.filter((_, i) => i % 2 === k));
    }
    connection.closeSync();
    instance.closeSync();
    const split = await runCli(
      ['convert', 'one.json', '--to', 'parquet', '-O', 'split=validation', '-o', 'hub-val', '--shard', '1/2'],
      { cwd: dir },
    );
    expect(split.code, split.stderr).toBe(0);
    expect((await stat(join(dir, 'hub-val/data/validation-00001-of-00002.parquet'))).size).toBeGreaterThan(0);
    const merged = await runCli(['summaries', 'merge', 'hub', '--json'], { cwd: dir });
    expect(JSON.parse(merged.stdout)).toMatchObject({ merged: 2, read: 23, written: 23 });
  });

  it('a failed shard leaves no done marker (and no output): the rerun does it again', async () => {
    const records = Array.from({ length: 9 }, (_, i) => record(i));
    (records[4]!.conversations[1] as { value: unknown }).value = 42; // record 4 (shard 1 of 3) is not convertible
    await writeFile(join(dir, 'bad.json'), JSON.stringify(records));
    const args = ['convert', 'bad.json', '--to', 'sharegpt', '-o', 'bad/{shard}.jsonl', '--shard', '1/3'];
    const failed = await runCli([...args, '--on-invalid', 'fail'], { cwd: dir });
    expect(failed.code).toBe(1);
    await expect(stat(join(dir, 'bad/.00001.jsonl.done'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'bad/00001.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' });
    const skipped = await runCli(args, { cwd: dir });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).not.toContain('already done');
    expect(skipped.stderr).toContain('read 3, written 2, rejected 1');
    expect((await stat(join(dir, 'bad/.00001.jsonl.done'))).isFile()).toBe(true);
  });

  it.each([
    [['--shard', '3/3', '-o', 'x-{shard}.jsonl'], 'usage/shard'],
    [['--shard', '1', '-o', 'x-{shard}.jsonl'], 'usage/shard'],
    [['--shard', '0/2', '-o', 'x.jsonl'], 'usage/shard-output'],
    [['--shard', '0/2', '-o', 'x-{shard}.json', '--rejects', 'rejects.jsonl'], 'usage/shard-output'],
    [['--shard', '0/2', '-o', 'x-{shard}.json', '--dataset-info', 'dataset_info.json'], '--dataset-info'],
  ])('%j is a usage error (exit 2, %s)', async (flags, rule) => {
    const run = await runCli(['convert', 'one.json', '--to', 'sharegpt', ...flags], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(rule);
  });

  it('a glob that matches nothing is a usage error; a missing summary too', async () => {
    const run = await runCli(
      ['convert', 'nothing/*.json', '--to', 'sharegpt', '-o', '{shard}.jsonl', '--shard', '0/2'],
      {
        cwd: dir,
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage/shard-no-inputs');
    const merge = await runCli(['summaries', 'merge', 'missing.json'], { cwd: dir });
    expect(merge.code).toBe(2);
  });

  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const shardsOf = (args: (k: number) => string[]) =>
    Promise.all(Array.from({ length: n }, (_, k) => runCli(args(k), { cwd: dir })));

  it('validate --shard: the shards check every record once; their --summary files merge to the whole', async () => {
    const whole = await runCli(['validate', 'one.json', '--json'], { cwd: dir });
    const wholeSummary = JSON.parse(whole.stdout.trim().split('\n').at(-1)!).summary;
    expect(wholeSummary.records).toBe(23);
    const runs = await shardsOf((k) => [
      'validate',
      'one.json',
      '--shard',
      `${k}/${n}`,
      '--summary',
      'v/{shard}.json',
      '--quiet',
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const parts = await Promise.all(
      [0, 1, 2].map(
        async (k) => JSON.parse(await readFile(join(dir, `v/0000${k}.json`), 'utf8')) as { records: number },
      ),
    );
    expect(parts.map((p) => p.records)).toEqual([8, 8, 7]);
    const merged = JSON.parse((await runCli(['summaries', 'merge', 'v', '--json'], { cwd: dir })).stdout);
    expect(merged).toMatchObject({ merged: 3, records: 23, diagnostics: wholeSummary.diagnostics });
    const again = await runCli(['validate', 'one.json', '--shard', `0/${n}`, '--summary', 'v/{shard}.json'], {
      cwd: dir,
    });
    expect(again.stderr).toContain('already done');
  });

  it('stats --shard: the shards merged with stats --merge count what one run counts', async () => {
    const whole = JSON.parse((await runCli(['stats', 'one.json', '--json'], { cwd: dir })).stdout) as {
      records: number;
    };
    const runs = await shardsOf((k) => ['stats', 'one.json', '--shard', `${k}/${n}`, '--json']);
    const files: string[] = [];
    for (const [k, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(0);
      await writeFile(join(dir, `stats-${k}.json`), run.stdout);
      files.push(`stats-${k}.json`);
    }
    const merged = JSON.parse((await runCli(['stats', '--merge', ...files, '--json'], { cwd: dir })).stdout) as {
      records: number;
    };
    expect(merged.records).toBe(23);
    expect(whole.records).toBe(23);
  });

  it('filter --shard: the shard outputs dealt back are the single filtered output', async () => {
    const single = await runCli(['filter', 'one.json', '--has-image', '-o', 'filtered.jsonl'], { cwd: dir });
    expect(single.code, single.stderr).toBe(0);
    const runs = await shardsOf((k) => [
      'filter',
      'one.json',
      '--has-image',
      '-o',
      'f/{shard}.jsonl',
      '--shard',
      `${k}/${n}`,
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const shards = await Promise.all([0, 1, 2].map((k) => lines(join(dir, `f/0000${k}.jsonl`))));
    // records 0, 3, 6, … (shard 0) have no image: filter rejected them, so shard 0 is empty
    expect(shards[0]).toEqual([]);
    const expected = await lines(join(dir, 'filtered.jsonl'));
    expect(expected.map((_, i) => shards[1 + (i % 2)]![Math.floor(i / 2)])).toEqual(expected);
    const merged = JSON.parse((await runCli(['summaries', 'merge', 'f', '--json'], { cwd: dir })).stdout);
    expect(merged).toMatchObject({ read: 23, written: expected.length, rejected: 23 - expected.length });
  });

  it('images check --shard: the shards look up every reference once', async () => {
    await mkdir(join(dir, 'no-images'), { recursive: true });
    const check = (extra: string[]) =>
      runCli(['images', 'check', 'one.json', '--images', 'no-images', '--json', ...extra], { cwd: dir });
    const whole = JSON.parse((await check([])).stdout) as { total: { references: number } };
    expect(whole.total.references).toBe(15);
    const runs = await Promise.all([0, 1, 2].map((k) => check(['--shard', `${k}/${n}`])));
    const refs = runs.map((r) => (JSON.parse(r.stdout) as { total: { references: number } }).total.references);
    expect(refs).toEqual([0, 8, 7]);
    expect(sum(refs)).toBe(whole.total.references);
    // --summary: the result beside a done marker; merged, the shards add up to the whole (and are not ok: missing)
    const summarized = await Promise.all(
      [0, 1, 2].map((k) => check(['--shard', `${k}/${n}`, '--summary', 'ic/{shard}.json'])),
    );
    expect(summarized.map((r) => r.code)).toEqual([0, 1, 1]);
    const merged = JSON.parse(
      (await runCli(['summaries', 'merge', 'ic/00000.json', 'ic/00001.json', 'ic/00002.json', '--json'], { cwd: dir }))
        .stdout,
    );
    expect(merged).toMatchObject({ merged: 3, ok: false, total: { references: 15 } });
    // shard 0 (no image references) was ok: a rerun skips it; the failed shards are checked again
    const again = await Promise.all([0, 1].map((k) => check(['--shard', `${k}/${n}`, '--summary', 'ic/{shard}.json'])));
    expect(again[0]!.stderr).toContain('already done');
    expect(again[1]!.stderr).not.toContain('already done');
    expect(again[1]!.code).toBe(1);
  });
});
