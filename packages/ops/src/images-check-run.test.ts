import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImagesCheck } from './images-check-run.js';
import { runShard } from './shard-run.js';
import { rec, tempDir, writeJson } from './test-helpers.js';

describe('runImagesCheck (llava images check as one library call)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let images: string;
  let data: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    images = join(dir, 'images');
    await mkdir(images, { recursive: true });
    await writeFile(join(images, 'a.png'), encodeTinyImage('png', { width: 4, height: 3 }));
    data = await writeJson(join(dir, 'data.json'), [
      rec('0', 'Q', 'a.png'),
      rec('1', 'Q', 'missing.png'),
      rec('2', 'Q', 'a.png'),
      rec('3', 'Q', 'gone.jpg'),
    ]);
  });
  afterAll(() => cleanup());

  it('checks every reference and writes the missing list', async () => {
    const list = join(dir, 'missing.tsv');
    const run = await runImagesCheck({ inputs: [data], images: [images], listMissing: list });
    expect(run.skipped).toBe(false);
    if (run.skipped) return;
    expect(run.report.ok).toBe(false);
    expect(run.listFile).toBe(list);
    expect(run.listFailure).toBeUndefined();
    expect((await readFile(list, 'utf8')).split('\n').sort()).toEqual([
      '',
      'gone.jpg\tmissing\t1',
      'missing.png\tmissing\t1',
    ]);
  });

  it('a shard checks its records, writes its summary without diagnostics, and a rerun of a passing shard skips', async () => {
    // shard 0/2 of one file: records 0 and 2, both sound
    const summaryFile = join(dir, 'sum-{shard}.json');
    const first = await runImagesCheck({ inputs: [data], images: [images], shard: '0/2', summaryFile });
    expect(first.skipped).toBe(false);
    expect(first.report.ok).toBe(true);
    const written = JSON.parse(await readFile(join(dir, 'sum-00000.json'), 'utf8'));
    expect(written).not.toHaveProperty('diagnostics');
    expect(written.ok).toBe(true);
    const again = await runImagesCheck({ inputs: [data], images: [images], shard: '0/2', summaryFile });
    expect(again).toMatchObject({ skipped: true, shard: '0/2', report: { ...written, diagnostics: [] } });
    // shard 1/2 fails (records 1 and 3 are missing): no done marker, so it runs again
    const failed = await runImagesCheck({ inputs: [data], images: [images], shard: '1/2', summaryFile });
    expect(failed.report.ok).toBe(false);
    expect((await runImagesCheck({ inputs: [data], images: [images], shard: '1/2', summaryFile })).skipped).toBe(false);
  });

  it('usage errors throw before anything is read: bad shard, bad source, a missing list that is an input', async () => {
    const bad = await runImagesCheck({ inputs: [data], images: [images], shard: '3/2' }).catch((e: unknown) => e);
    expect(DiagnosticError.is(bad) && bad.diagnostic.ruleId).toBe('usage/shard');
    await expect(runImagesCheck({ inputs: [data], images: ['coco='] })).rejects.toThrow(TypeError);
    const conflict = await runImagesCheck({ inputs: [data], images: [images], listMissing: data }).catch((e) => e);
    expect(DiagnosticError.is(conflict) && conflict.diagnostic.ruleId).toBe('usage/output-conflict');
  });

  it('a missing list that cannot be written fails the run (one more error), it does not throw', async () => {
    const list = join(dir, 'blocker', 'missing.tsv');
    await writeFile(join(dir, 'blocker'), 'a file in the way of the folder');
    const run = await runImagesCheck({ inputs: [data], images: [images], listMissing: list });
    if (run.skipped) throw new Error('not a shard');
    expect(run.listFailure?.ruleId).toBe('output/write-failed');
    expect(run.report.diagnostics.at(-1)).toEqual(run.listFailure);
    expect(existsSync(list)).toBe(false);
  });
});

describe('runShard', () => {
  it('without a shard runs once over the inputs as given and writes no marker', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const summaryFile = join(dir, 's.json');
      const outcome = await runShard({
        inputs: ['x.json'],
        summaryFile,
        run: async (plan) => plan.inputs,
        summarise: (inputs) => ({ summary: { inputs }, ok: true }),
      });
      expect(outcome).toMatchObject({ skipped: false, result: ['x.json'] });
      expect(JSON.parse(await readFile(summaryFile, 'utf8'))).toEqual({ inputs: ['x.json'] });
      // no shard, no marker: a second run runs again
      const calls: string[][] = [];
      await runShard({
        inputs: ['x.json'],
        summaryFile,
        run: async (plan) => calls.push(plan.inputs),
        summarise: () => ({ summary: {}, ok: true }),
      });
      expect(calls).toEqual([['x.json']]);
    } finally {
      await cleanup();
    }
  });
});
