import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, lstatSync, openSync, statSync } from 'node:fs';
import { link, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot, runCli, tempDir } from '../test-utils.js';
import {
  canMount,
  finished,
  isRoot,
  mountReadOnly,
  mountSkipReason,
  mountTmpfs,
  record,
  STACK,
  spawnCli,
  temporaries,
  unmount,
  writeRecords,
} from './fixtures/helpers.js';

/**
 * Outputs, through the real CLI: colliding paths are usage errors before anything is written; devices, FIFOs and
 * symbolic links are written into or through, never replaced; every write failure (full disk, read-only mount, a
 * directory, a closed pipe) names the user's target, exits 1, keeps the --json summary, and leaves nothing behind.
 */
const PROMPTS = join(repoRoot, 'packages/prompts/src/__fixtures__');

let dir: string;
let cleanup: () => Promise<void>;
let input: string;
let withReject: string;
let batchOutput: string;
const mounts: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('llava-faults-out-'));
  input = await writeRecords(join(dir, 'in.json'), 40);
  // sharegpt cannot hold a `narrator` turn: the writer rejects that record.
  withReject = await writeRecords(join(dir, 'with-reject.json'), 40, [
    record('bad', {
      conversations: [
        { from: 'human', value: 'Hi' },
        { from: 'narrator', value: 'x' },
      ],
    }),
  ]);
  batchOutput = join(dir, 'batch_output.jsonl');
  await writeFile(
    batchOutput,
    `${JSON.stringify({
      id: 'r-1',
      custom_id: 'complex_reasoning:7',
      response: {
        status_code: 200,
        body: { choices: [{ message: { content: 'Question:\nWhy?\n===\nAnswer:\nSun.' } }] },
      },
      error: null,
    })}\n`,
  );
});

afterAll(async () => {
  for (const mount of mounts.reverse()) unmount(mount);
  await cleanup();
});

function expectClean(text: string) {
  expect(text).not.toMatch(STACK);
  expect(text).not.toContain('.llava-tmp-');
}

describe('output paths that collide are usage errors before anything is written', () => {
  const cases: { name: string; args: (d: string) => Promise<string[]>; command?: 'convert' | 'other' }[] = [
    { name: '-o X --rejects X', args: async (d) => ['-o', join(d, 'x.json'), '--rejects', join(d, 'x.json')] },
    {
      name: '-o a --rejects ./a (two spellings)',
      args: async (d) => ['-o', join(d, 'a.json'), '--rejects', `${d}/./a.json`],
    },
    {
      name: '--rejects through a symbolic link to -o',
      args: async (d) => {
        await writeFile(join(d, 'real.json'), 'old');
        await symlink(join(d, 'real.json'), join(d, 'alias.json'));
        return ['-o', join(d, 'real.json'), '--rejects', join(d, 'alias.json')];
      },
    },
    {
      name: '--rejects a hard link of -o',
      args: async (d) => {
        await writeFile(join(d, 'one.json'), 'old');
        await link(join(d, 'one.json'), join(d, 'two.json'));
        return ['-o', join(d, 'one.json'), '--rejects', join(d, 'two.json')];
      },
    },
    { name: '--rejects <the input>', args: async () => ['-o', join(dir, 'fine.json'), '--rejects', input] },
    { name: '-o <the input> without --force', args: async () => ['-o', input] },
    {
      name: '--dataset-info <the output>',
      args: async (d) => ['-o', join(d, 'ds.json'), '--dataset-info', join(d, 'ds.json')],
    },
    { name: '-o - --rejects - (both standard output)', args: async () => ['-o', '-', '--rejects', '-'] },
  ];
  for (const [n, c] of cases.entries()) {
    it(c.name, async () => {
      const d = join(dir, `conflict-${n}`);
      await mkdir(d, { recursive: true });
      const before = await readFile(input, 'utf8');
      const result = await runCli(['convert', input, '--to', 'sharegpt', ...(await c.args(d)), '--json']);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('[usage/output-conflict]');
      expectClean(result.stdout + result.stderr);
      expect(await readFile(input, 'utf8')).toBe(before);
      for (const name of ['x.json', 'a.json', 'fine.json', 'ds.json']) expect(existsSync(join(d, name))).toBe(false);
      if (existsSync(join(d, 'real.json'))) expect(await readFile(join(d, 'real.json'), 'utf8')).toBe('old');
      if (existsSync(join(d, 'one.json'))) expect(await readFile(join(d, 'one.json'), 'utf8')).toBe('old');
    });
  }

  it('-o <the input> --force replaces the input once it has been read whole', async () => {
    const own = await writeRecords(join(dir, 'own.json'), 5);
    const result = await runCli(['convert', own, '--to', 'sharegpt', '-o', own, '--force', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 5, written: 5 });
    expect(JSON.parse(await readFile(own, 'utf8'))[0]).toHaveProperty('images');
  });

  it('-o <the file standard input is redirected from> (`llava convert - -o a.json < a.json`)', async () => {
    const own = await writeRecords(join(dir, 'redirected.json'), 3);
    const before = await readFile(own, 'utf8');
    const fd = openSync(own, 'r');
    try {
      const run = spawnSync(process.execPath, [binPath, 'convert', '-', '--to', 'sharegpt', '-o', own], {
        stdio: [fd, 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/is the file standard input reads: .*\[usage\/output-conflict\]/);
    } finally {
      closeSync(fd);
    }
    expect(await readFile(own, 'utf8')).toBe(before);
  });

  it('images check --list-missing <the input> and prompts parse -o <its input> are refused too', async () => {
    const check = await runCli(['images', 'check', input, '--images', dir, '--list-missing', input]);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/--list-missing .*in\.json is the input/);
    const parse = await runCli(['prompts', 'parse', batchOutput, '-o', batchOutput]);
    expect(parse.code).toBe(2);
    expect(parse.stderr).toMatch(/-o .*batch_output\.jsonl is the input/);
  });
});

describe('a target that is not a regular file is written into or through, never replaced', () => {
  it('-o /dev/null', async () => {
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', '/dev/null', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ written: 40 });
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('-o /dev/stdout writes into the pipe', async () => {
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', '/dev/stdout', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(40);
    // The --json summary goes to stderr, as with -o -.
    expect(JSON.parse(result.stderr)).toMatchObject({ written: 40 });
  });

  it.skipIf(!isRoot)(
    `character devices made by the test stay devices; a full one (1,7) is a write error${isRoot ? '' : ' (skipped: mknod needs root)'}`,
    async () => {
      const devices = join(dir, 'devices');
      await mkdir(devices, { recursive: true });
      execFileSync('mknod', [join(devices, 'null'), 'c', '1', '3']);
      execFileSync('mknod', [join(devices, 'full'), 'c', '1', '7']);
      const ok = await runCli(['convert', input, '--to', 'sharegpt', '-o', join(devices, 'null')]);
      expect(ok.code, ok.stderr).toBe(0);
      const full = await runCli(['convert', input, '--to', 'sharegpt', '-o', join(devices, 'full'), '--json']);
      expect(full.code).toBe(1);
      const summary = JSON.parse(full.stdout);
      expect(summary).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'output/write-failed' } });
      expect(summary.fatal.message).toContain(join(devices, 'full'));
      expect(summary.fatal.message).toContain('ENOSPC');
      expectClean(full.stdout + full.stderr);
      expect(lstatSync(join(devices, 'null')).isCharacterDevice()).toBe(true);
      expect(lstatSync(join(devices, 'full')).isCharacterDevice()).toBe(true);
      expect(temporaries(devices)).toEqual([]);
    },
  );

  it('a FIFO is written into (a reader gets the records; the FIFO stays a FIFO)', async () => {
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = new Promise((resolve) => reader.on('close', resolve));
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', fifo]);
    await done;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toHaveLength(40);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a symbolic link is written through: the file it points at is replaced, the link stays', async () => {
    const other = join(dir, 'elsewhere');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'real.json'), 'old');
    const alias = join(dir, 'alias-out.json');
    await symlink(join(other, 'real.json'), alias);
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', alias]);
    expect(result.code, result.stderr).toBe(0);
    expect(lstatSync(alias).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(join(other, 'real.json'), 'utf8'))).toHaveLength(40);
    expect([...temporaries(dir), ...temporaries(other)]).toEqual([]);
  });

  it('a dangling symbolic link is refused (exit 1), and stays as it was', async () => {
    const dangling = join(dir, 'dangling.json');
    await symlink(join(dir, 'nowhere', 'x.json'), dangling);
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', dangling]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /Cannot write the output .*dangling\.json: .*symbolic link.*\[output\/write-failed\]/,
    );
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});

/** One output of the CLI, pointed at `target`; `check` asserts its --json report. */
interface OutputCase {
  readonly name: string;
  readonly args: (target: string, n: number) => string[];
  /** For prompts build, the target is a folder. */
  readonly folder?: boolean;
  readonly json: (stdout: string, stderr: string) => void;
  /** Another output of the same run that must not appear either (outputs are put in place together). */
  readonly absent?: (n: number) => string;
}

const outputs: OutputCase[] = [
  {
    name: 'convert -o',
    args: (target) => ['convert', input, '--to', 'sharegpt', '-o', target, '--json'],
    json: (stdout) => {
      const summary = JSON.parse(stdout);
      expect(summary).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'output/write-failed' } });
      expect(summary.read).toBe(summary.rejected + summary.discarded);
    },
  },
  {
    name: 'convert --rejects',
    absent: (n) => join(dir, `kept-${n}.json`),
    args: (target, n) => [
      'convert',
      withReject,
      '--to',
      'sharegpt',
      '-o',
      join(dir, `kept-${n}.json`),
      '--rejects',
      target,
      '--json',
    ],
    json: (stdout) =>
      expect(JSON.parse(stdout)).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'output/write-failed' } }),
  },
  {
    name: 'convert --dataset-info',
    args: (target, n) => [
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      join(dir, `ds-${n}.json`),
      '--dataset-info',
      target,
      '--json',
    ],
    json: (stdout) =>
      expect(JSON.parse(stdout)).toMatchObject({ written: 40, errors: [{ ruleId: 'output/write-failed' }] }),
  },
  {
    name: 'images check --list-missing',
    args: (target) => [
      'images',
      'check',
      input,
      '--images',
      join(dir, 'no-images'),
      '--list-missing',
      target,
      '--json',
    ],
    json: (stdout) =>
      expect(JSON.parse(stdout).diagnostics).toContainEqual(expect.objectContaining({ ruleId: 'output/write-failed' })),
  },
  {
    name: 'prompts parse -o',
    args: (target) => ['prompts', 'parse', batchOutput, '-o', target, '--json'],
    json: (stdout) =>
      expect(JSON.parse(stdout).diagnostics).toContainEqual(expect.objectContaining({ ruleId: 'output/write-failed' })),
  },
  {
    name: 'prompts build -o',
    folder: true,
    args: (target) => [
      'prompts',
      'build',
      '--prompts',
      join(PROMPTS, 'prompts'),
      '--caps-boxes',
      join(PROMPTS, 'capsboxes.jsonl'),
      '--model',
      'm',
      '-o',
      target,
      '--json',
    ],
    json: (stdout) =>
      expect(JSON.parse(stdout).diagnostics).toContainEqual(expect.objectContaining({ ruleId: 'output/write-failed' })),
  },
];

async function expectWriteFailure(output: OutputCase, target: string, n: number, where: string) {
  const result = await runCli(output.args(target, n));
  expect(result.code, result.stderr).toBe(1);
  output.json(result.stdout, result.stderr);
  expect(result.stdout + result.stderr).toContain(target.endsWith('/') ? target.slice(0, -1) : target);
  expect(result.stdout + result.stderr).toContain('output/write-failed');
  expectClean(result.stdout + result.stderr);
  expect(temporaries(where)).toEqual([]);
  if (output.absent) expect(existsSync(output.absent(n))).toBe(false);
  return result;
}

describe('a write error names the target, exits 1, keeps the --json summary, and leaves nothing', () => {
  it('a directory as target (every output)', async () => {
    for (const [n, output] of outputs.entries()) {
      const target = join(dir, `is-a-dir-${n}`);
      if (output.folder) await writeFile(target, 'a file where a folder is needed');
      else await mkdir(join(target, 'inside'), { recursive: true });
      await expectWriteFailure(output, target, n, dir);
      if (output.folder) expect(await readFile(target, 'utf8')).toBe('a file where a folder is needed');
      else expect((await stat(target)).isDirectory()).toBe(true);
    }
  });

  it.skipIf(!canMount)(`a full disk: a real 64 KiB tmpfs, filled${mountSkipReason}`, async () => {
    const mount = join(dir, 'full-disk');
    mountTmpfs(mount, '64k');
    mounts.push(mount);
    try {
      for (;;) appendFileSync(join(mount, 'filler'), Buffer.alloc(4096, 1));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    for (const [n, output] of outputs.entries()) {
      const target = join(mount, output.folder ? `batches-${n}` : `out-${n}.json`);
      const result = await expectWriteFailure(output, target, n, mount);
      expect(result.stdout + result.stderr).toContain('ENOSPC');
      expect(existsSync(target) && !output.folder).toBe(false);
      if (output.folder && existsSync(target)) expect(execFileSync('ls', ['-A', target]).toString()).toBe('');
    }
  });

  it.skipIf(!canMount)(`a read-only target: a real read-only bind mount${mountSkipReason}`, async () => {
    const source = join(dir, 'ro-source');
    const mount = join(dir, 'read-only');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'out-0.json'), 'old');
    mountReadOnly(source, mount);
    mounts.push(mount);
    for (const [n, output] of outputs.entries()) {
      const target = join(mount, output.folder ? `batches-${n}` : `out-${n}.json`);
      const result = await expectWriteFailure(output, target, n, source);
      expect(result.stdout + result.stderr).toContain('EROFS');
    }
    expect(await readFile(join(source, 'out-0.json'), 'utf8')).toBe('old');
  });

  it('EPIPE on standard output (`llava convert … | head -c 10`)', async () => {
    const big = await writeRecords(join(dir, 'big.json'), 20_000);
    const child = spawnCli(['convert', big, '--to', 'sharegpt', '--json']);
    const result = finished(child);
    child.stdout.once('data', () => child.stdout.destroy());
    const { code, stderr } = await result;
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stderr);
    expect(summary).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'output/write-failed' } });
    expect(summary.fatal.message).toMatch(/standard output.*EPIPE/);
    expect(summary.read).toBe(summary.rejected + summary.discarded);
    expectClean(stderr);
  });

  it('EPIPE in a command without a sink (`llava render … | head`) is one line and exit 1, never a stack or exit 13', async () => {
    const many = await writeRecords(join(dir, 'render.json'), 20_000);
    const child = spawnCli(['render', many, '--template', 'v1']);
    const result = finished(child);
    child.stdout.once('data', () => child.stdout.destroy());
    const { code, stderr } = await result;
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/Cannot write standard output: .*EPIPE.*\[output\/write-failed\]/);
    expectClean(stderr);
  });
});
