import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot, runCli, tempDir } from '../test-utils.js';

const fixtures = join(repoRoot, 'packages', 'ops', 'src', '__fixtures__', 'mix');
const sample = join(repoRoot, 'examples', 'sample', 'llava_sample.json');

describe('data-prep commands (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it('stats --json prints one object with the documented keys; --html writes the report; --merge adds shards', async () => {
    const html = join(dir, 'report.html');
    const r = await runCli(['stats', sample, '--template', 'v1', '--json', '--html', html]);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    for (const key of ['records', 'textOnly', 'sources', 'turns', 'tokens', 'duplicates'])
      expect(stats).toHaveProperty(key);
    expect(stats.records).toBe(6);
    expect(stats.tokens).toMatchObject({ model: 'llava-1.5-336', template: 'v1' });
    expect(await readFile(html, 'utf8')).toContain('<svg');
    const shard = join(dir, 'shard.json');
    await writeFile(shard, r.stdout);
    const merged = await runCli(['stats', '--merge', shard, shard, '--json']);
    expect(merged.code).toBe(0);
    expect(JSON.parse(merged.stdout).records).toBe(12);
    const notStats = await runCli(['stats', '--merge', sample]);
    expect(notStats.code).toBe(2);
    expect(notStats.stderr).toContain('stats/merge');
  });

  it('filter rejects over-long records to --rejects and reports the rule', async () => {
    const out = join(dir, 'fit.json');
    const rejects = join(dir, 'rejects.jsonl');
    const r = await runCli([
      'filter',
      sample,
      '-o',
      out,
      '--max-tokens',
      '650',
      '--template',
      'v1',
      '--rejects',
      rejects,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/rejected by length\/over-max: 5/);
    expect(JSON.parse(await readFile(out, 'utf8'))).toHaveLength(1);
    expect((await readFile(rejects, 'utf8')).trim().split('\n')).toHaveLength(5);
    const usage = await runCli(['filter', sample, '-o', out, '--has-image', '--text-only']);
    expect(usage.code).toBe(2);
  });

  it('mix writes the mixture and its manifest; recipe errors exit 2, a missing dataset exits 1', async () => {
    const out = join(dir, 'mix.json');
    const ok = await runCli(['mix', join(fixtures, 'ok', 'recipe.yaml'), '-o', out, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ written: 16, manifest: { seed: 42 } });
    expect(existsSync(`${out}.manifest.json`)).toBe(true);
    const bad = await runCli(['mix', join(fixtures, 'bad-strategy', 'recipe.yaml'), '-o', join(dir, 'x.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/recipe\.yaml:3:1 .*recipe\/bad-strategy/);
    const over = await runCli(['mix', join(fixtures, 'percent-over-100', 'recipe.yaml'), '-o', join(dir, 'x.json')]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('150% is over 100%');
    const missing = await runCli(['mix', join(fixtures, 'missing-file', 'recipe.yaml'), '-o', join(dir, 'x.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/recipe\.yaml:4:1 .*recipe\/missing-file/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('writes records to standard output and the --json summary to stderr then', async () => {
    const r = await runCli(['filter', sample, '-o', '-', '--container', 'jsonl', '--min-turns', '4', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ read: 6, written: 2, rejected: 4 });
  });

  it('split, sample and dedup keep the accounting', async () => {
    const split = await runCli([
      'split',
      sample,
      '--eval',
      '2',
      '--seed',
      '1',
      '-o',
      join(dir, 'train.json'),
      '--eval-output',
      join(dir, 'eval.json'),
      '--json',
    ]);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toMatchObject({ read: 6, written: 6, train: 4, eval: 2 });
    const sampled = await runCli(['sample', sample, '-n', '4', '--seed', '2', '-o', join(dir, 's.json'), '--json']);
    expect(sampled.code).toBe(0);
    expect(JSON.parse(sampled.stdout)).toMatchObject({ read: 6, written: 4, rejected: 2 });
    const noCount = await runCli(['sample', sample, '-o', join(dir, 's.json')]);
    expect(noCount.code).toBe(2);
    const dedup = await runCli(['dedup', sample, sample, '--by', 'conversation', '-o', join(dir, 'd.json')]);
    expect(dedup.code).toBe(0);
    expect(dedup.stderr).toMatch(/read 12, written 6, rejected 6/);
    expect(dedup.stderr).toMatch(/6 duplicate groups/);
  });

  const faults: [name: string, content: string, rule: RegExp][] = [
    ['cut.json', '[{"conversations": []},\n{"conversations": [', /json\/truncated/],
    ['not-json.json', 'hello, world', /json\/|input\//],
  ];
  for (const [name, content, rule] of faults) {
    it(`every command reports ${name} with its rule, exits 1, writes nothing and prints no stack`, async () => {
      const input = join(dir, name);
      await writeFile(input, content);
      const out = join(dir, `${name}.out.json`);
      const runs = [
        ['stats', input],
        ['filter', input, '-o', out],
        ['dedup', input, '-o', out],
        ['sample', input, '-n', '1', '-o', out],
        ['split', input, '--eval', '0.5', '-o', out, '--eval-output', join(dir, `${name}.eval.json`)],
      ];
      for (const args of runs) {
        const r = await runCli(args);
        const text = r.stdout + r.stderr;
        expect(r.code, args.join(' ')).toBe(1);
        expect(text).toMatch(rule);
        expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
        expect(existsSync(out)).toBe(false);
      }
    });
  }

  it('SIGINT stops an operation, exits 130 and leaves neither the output nor a temporary file', async () => {
    const big = join(dir, 'big.jsonl');
    const line = (i: number) =>
      JSON.stringify({
        id: `r${i}`,
        image: `coco/${i}.jpg`,
        conversations: [
          { from: 'human', value: `<image>\nQuestion ${i} ${'word '.repeat(20)}?` },
          { from: 'gpt', value: `Answer ${i}.` },
        ],
      });
    await writeFile(big, `${Array.from({ length: 300_000 }, (_, i) => line(i)).join('\n')}\n`);
    const outDir = join(dir, 'interrupted');
    const out = join(outDir, 'out.json');
    const child = spawn(process.execPath, [binPath, 'filter', big, '-o', out, '--min-turns', '1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Interrupt once the temporary output exists (the operation is writing).
    for (let i = 0; i < 1000; i++) {
      const names = await readdir(outDir).catch(() => [] as string[]);
      if (names.some((n) => n.includes('llava-tmp'))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('Interrupted');
    expect(await readdir(outDir)).toEqual([]);
  }, 60_000);
});
