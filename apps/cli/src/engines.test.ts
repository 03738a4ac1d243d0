import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot, runCli, tempDir } from './test-utils.js';

// The examples/ray, examples/slurm and examples/spark fan-outs, run here with local processes (and under Ray or
// Spark themselves when python3 can import them).

const python = spawnSync('python3', ['--version']).status === 0;
const imports = (module: string) => python && spawnSync('python3', ['-c', `import ${module}`]).status === 0;
const hasRay = imports('ray');
const hasSpark = imports('pyspark');
const bash = spawnSync('bash', ['--version']).status === 0;

// LLAVA is split into words by the scripts (as `LLAVA="npx -y @llavakit/cli"` would be)
const llava = `${process.execPath} ${binPath}`;

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const record = (i: number) => ({
  id: `r${i}`,
  image: `img/${i}.jpg`,
  conversations: [
    { from: 'human', value: `<image>\nWhat is in picture ${i}?` },
    { from: 'gpt', value: i === 7 ? 123 : `Picture ${i}.` },
  ],
});

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean);

describe('examples: shards fanned out by Slurm, Ray and Spark', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let single: string[];
  const n = 3;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-engines-'));
    // record 7 is rejected (a gpt turn that is not text): the merged summary must still add up
    await writeFile(join(dir, 'data.json'), JSON.stringify(Array.from({ length: 20 }, (_, i) => record(i))));
    const result = await runCli(['convert', 'data.json', '--to', 'sharegpt', '-o', 'single.jsonl'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    single = await lines(join(dir, 'single.jsonl'));
    expect(single).toHaveLength(19);
  });
  afterAll(() => cleanup());

  /** The shards' outputs hold the single-process records; the merged summary counts every record. */
  const expectUnion = async (out: string, merged: Record<string, unknown>) => {
    const shards = await Promise.all(
      Array.from({ length: n }, (_, k) => lines(join(dir, out, `part-0000${k}-of-0000${n}.jsonl`))),
    );
    expect(shards.flat().sort()).toEqual([...single].sort());
    // shard k holds the records k, k+n, … in order
    const ids = (text: string) => (JSON.parse(text) as { id: string }).id;
    for (const [k, shard] of shards.entries()) {
      const expected = single.map(ids).filter((id) => Number(id.slice(1)) % n === k);
      expect(shard.map(ids)).toEqual(expected);
    }
    expect(merged).toMatchObject({ merged: n, read: 20, written: 19, rejected: 1, failed: false });
  };

  it.skipIf(!bash)('slurm: convert.sbatch once per SLURM_ARRAY_TASK_ID, then merge.sbatch', async () => {
    const env = { SLURM_ARRAY_TASK_COUNT: String(n), INPUT: 'data.json', OUT: 'slurm-out', LLAVA: llava };
    const script = join(repoRoot, 'examples/slurm/convert.sbatch');
    const tasks = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        run('bash', [script], { cwd: dir, env: { ...env, SLURM_ARRAY_TASK_ID: String(k) } }),
      ),
    );
    for (const task of tasks) expect(task.code, task.stderr).toBe(0);
    const merge = await run('bash', [join(repoRoot, 'examples/slurm/merge.sbatch')], { cwd: dir, env });
    expect(merge.code, merge.stderr).toBe(0);
    expect(merge.stdout).toContain('read 20, written 19, rejected 1');
    await expectUnion('slurm-out', JSON.parse(await readFile(join(dir, 'slurm-out/merged-summary.json'), 'utf8')));
    expect(await lines(join(dir, 'slurm-out/rejects-00001-of-00003.jsonl'))).toHaveLength(1);
    // without a task id the script refuses to start
    const bare = await run('bash', [script], { cwd: dir, env: { ...env, SLURM_ARRAY_TASK_ID: '' } });
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('SLURM_ARRAY_TASK_ID');
  });

  for (const [name, script, engine, available] of [
    ['ray', 'examples/ray/llava_ray.py', 'ray', hasRay],
    ['spark', 'examples/spark/llava_spark.py', 'spark', hasSpark],
  ] as const) {
    const driver = join(repoRoot, script);
    const shardArgs = (out: string) => [
      '--shards',
      String(n),
      '--llava',
      llava,
      '--merge',
      out,
      '--',
      'convert',
      'data.json',
      '--to',
      'sharegpt',
      '-o',
      `${out}/part-{shard}-of-{shards}.jsonl`,
      '--quiet',
    ];

    it.skipIf(!python)(`${name}: the driver's shard command lines`, async () => {
      const printed = await run('python3', [driver, '--print-commands', ...shardArgs('x')], { cwd: dir });
      expect(printed.code, printed.stderr).toBe(0);
      const commands = printed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[]);
      expect(commands).toHaveLength(n);
      commands.forEach((argv, k) => {
        expect(argv.slice(0, 3)).toEqual([process.execPath, binPath, 'convert']);
        expect(argv.slice(-2)).toEqual(['--shard', `${k}/${n}`]);
      });
    });

    it.skipIf(!python)(`${name}: the same fan-out with local processes (--engine local), then a rerun`, async () => {
      const out = `${name}-local`;
      const result = await run('python3', [driver, '--engine', 'local', ...shardArgs(out)], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      await expectUnion(out, JSON.parse(result.stdout));
      const again = await run('python3', [driver, '--engine', 'local', ...shardArgs(out)], { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ merged: n, read: 20 });
    });

    it.skipIf(!python || available)(
      `${name}: without ${engine} installed the driver says so (the run under ${engine} is skipped: python3 -c "import ${engine === 'spark' ? 'pyspark' : 'ray'}" fails)`,
      async () => {
        const result = await run('python3', [driver, ...shardArgs(`${name}-none`)], { cwd: dir });
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('--engine local');
      },
    );

    it.skipIf(!available)(`${name}: the fan-out under ${engine} itself`, { timeout: 180_000 }, async () => {
      const out = `${name}-engine`;
      const result = await run('python3', [driver, ...shardArgs(out)], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      await expectUnion(out, JSON.parse(result.stdout));
    });
  }
});
