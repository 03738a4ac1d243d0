import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';
import {
  expectInterrupted,
  finished,
  interruptCase,
  record,
  STACK,
  spawnCli,
  temporaries,
  until,
} from './fixtures/helpers.js';

/**
 * `llava convert --workers N` as users meet it, in real processes: the same output and summary as one thread, a
 * worker that dies is a diagnostic and exit 1 (never a hang, targets untouched, no temporary file), SIGINT/SIGTERM in
 * the middle of a parallel run exit 130/143 with the workers stopped and nothing left behind.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-faults-workers-')));
afterAll(() => cleanup());

const records = (n: number, bad: readonly number[] = []) =>
  Array.from({ length: n }, (_, i) =>
    bad.includes(i) ? record(`bad${i}`, { conversations: [{ from: 'narrator', value: 'x' }] }) : record(`r${i}`),
  );

describe('llava convert --workers', { timeout: 60_000 }, () => {
  it('writes the same bytes, rejects and summary as --workers 1 (a shard, JSON Lines, --validate)', async () => {
    const input = join(dir, 'same.json');
    await writeFile(input, JSON.stringify(records(3000, [7, 1500, 2999]), null, 2));
    const outputs: string[] = [];
    const summaries: unknown[] = [];
    for (const workers of ['1', '2']) {
      const output = join(dir, `same-${workers}-{shard}.jsonl`);
      const rejects = join(dir, `same-${workers}-{shard}.rejects.jsonl`);
      const result = await runCli([
        'convert',
        input,
        '--to',
        'sharegpt',
        '-o',
        output,
        '--rejects',
        rejects,
        '--validate',
        '--shard',
        '1/2',
        '--workers',
        workers,
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/one thread/);
      const { durationMs: _d, output: _o, ...summary } = JSON.parse(result.stdout);
      summaries.push(summary);
      const shard = (path: string) => readFile(path.replace('{shard}', '00001'), 'utf8');
      outputs.push((await shard(output)) + (await shard(rejects)));
    }
    expect(summaries[1]).toEqual(summaries[0]);
    expect(summaries[0]).toMatchObject({ read: 1500, rejected: 2 });
    expect(outputs[1]).toBe(outputs[0]);
  });

  it('llava validate --workers 2 reports what --workers 1 reports: every diagnostic, in order, the same summary', async () => {
    const lines = records(1500, [3, 700]).map((r, i) =>
      i === 10 ? { ...r, id: 'r9' } : i === 20 ? { ...r, id: 20 } : i === 30 ? { ...r, image: '/abs/x.jpg' } : r,
    );
    const texts = lines.map((r) => JSON.stringify(r, null, 2));
    texts.splice(40, 0, '{"id": "broken", "conversations": [,]}');
    const good = join(dir, 'validate.json');
    await writeFile(good, `[\n${texts.join(',\n')}\n]\n`);
    const cut = join(dir, 'validate-cut.json');
    await writeFile(cut, `[\n${texts.join(',\n')}`.slice(0, 200_000));
    const sharegpt = join(dir, 'validate.sharegpt.json');
    expect((await runCli(['convert', good, '--to', 'sharegpt', '-o', sharegpt])).code).toBe(0);
    for (const args of [[good], [good, '--shard', '1/3'], [cut], [sharegpt, good]]) {
      const runs = [];
      for (const workers of ['1', '2']) {
        runs.push(await runCli(['validate', ...args, '--json', '--workers', workers]));
      }
      expect(runs[1]!.stderr).not.toMatch(/one thread/);
      expect(runs[1]!.code).toBe(runs[0]!.code);
      expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
      expect(runs[0]!.stdout.split('\n').length).toBeGreaterThan(3);
    }
  });

  it('node options a worker cannot take (--expose-gc): the workers start without them, same bytes', async () => {
    const input = join(dir, 'exec-argv.json');
    await writeFile(input, JSON.stringify(records(300), null, 2));
    const outputs: string[] = [];
    for (const [workers, nodeArgs] of [
      ['1', []],
      ['2', ['--expose-gc']],
    ] as const) {
      const output = join(dir, `exec-argv-${workers}.json`);
      const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', output, '--workers', workers], {
        nodeArgs,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/one thread/);
      outputs.push(await readFile(output, 'utf8'));
    }
    expect(outputs[1]).toBe(outputs[0]);
  });

  it('says once why a run with image flags converts in one thread', async () => {
    const input = join(dir, 'images.json');
    await writeFile(input, JSON.stringify(records(10)));
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      join(dir, 'images.out.json'),
      '--image-root',
      '/data',
      '--workers',
      '2',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/converting in one thread \(image checks, rewriting or embedding/g)).toHaveLength(1);
  });

  it('a worker that dies: run/worker-failed, exit 1, the old output kept, no temporary file', async () => {
    const case_ = join(dir, 'crash');
    execFileSync('mkdir', ['-p', case_]);
    await writeFile(
      join(case_, 'dies.mjs'),
      `import { isMainThread } from 'node:worker_threads';
      export default { specVersion: 1, name: 'dies', encode(r) {
        if (!isMainThread && r.id === 'r900') process.exit(9);
        return { ok: true, value: { id: r.id } };
      } };`,
    );
    const input = join(case_, 'in.json');
    await writeFile(input, JSON.stringify(records(2000), null, 2));
    const output = join(case_, 'out.json');
    await writeFile(output, 'old output');
    const result = await runCli(
      ['convert', input, '--to', 'dies', '-o', output, '--plugin', './dies.mjs', '--workers', '2', '--json'],
      { cwd: case_ },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      failed: true,
      written: 0,
      fatal: { ruleId: 'run/worker-failed', message: expect.stringMatching(/exit code 9/) },
    });
    expect(await readFile(output, 'utf8')).toBe('old output');
    expect(temporaries(case_)).toEqual([]);
    expect(result.stdout + result.stderr).not.toMatch(STACK);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} in the middle of a parallel run → exit ${code}, workers stopped, old content kept, no temporary file`, async () => {
      const { dir: case_, fifo, output, rejects } = await interruptCase(dir, signal);
      const child = spawnCli([
        'convert',
        fifo,
        '--from',
        'llava',
        '--to',
        'sharegpt',
        '-o',
        output,
        '--rejects',
        rejects,
        '--workers',
        '2',
        '--json',
      ]);
      const result = finished(child);
      const feed = createWriteStream(fifo);
      feed.on('error', () => undefined);
      feed.write('[\n');
      for (const r of records(3000, [5])) feed.write(`${JSON.stringify(r)},\n`);
      // The rejects file exists once the workers' first answers were written: the run is in the middle.
      await until(() => temporaries(case_).length >= 2, 30_000);
      child.kill(signal);
      const stopped = await result;
      feed.destroy();
      await expectInterrupted(stopped, code, { dir: case_, output, rejects });
    });
  }
});
