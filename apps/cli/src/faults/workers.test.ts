import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';
import {
  expectInterrupted,
  finished,
  interruptCase,
  record,
  STACK,
  signalAndWait,
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

describe('llava stats --workers', { timeout: 60_000 }, () => {
  it('prints the same JSON with 1, 2 and 3 workers (duplicates over the whole input, invalid records, a shard)', async () => {
    const input = join(dir, 'stats.json');
    const list = records(3000, [7, 1500, 2999]).map((r, i) => (i % 100 === 50 ? { ...r, id: `r${i - 50}` } : r));
    const texts = list.map((r) => JSON.stringify(r, null, 2));
    texts.splice(2001, 0, '{"id": "broken", "conversations": [,]}'); // (in shard 1 of 2)
    await writeFile(input, `[\n${texts.join(',\n')}\n]\n`);
    for (const extra of [[], ['--shard', '1/2']]) {
      const runs = [];
      for (const workers of ['1', '2', '3']) {
        const result = await runCli(['stats', input, '--template', 'v1', '--json', '--workers', workers, ...extra]);
        expect(result.stderr).not.toMatch(/one thread/);
        const { durationMs: _d, ...stats } = JSON.parse(result.stdout);
        runs.push({ code: result.code, stats: JSON.stringify(stats) });
      }
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
      expect(runs[0]!.code).toBe(1); // invalid records are data errors
      const stats = JSON.parse(runs[0]!.stats);
      expect(stats.invalid).toBeGreaterThan(0);
      expect(stats.duplicates.ids).toBeGreaterThan(5);
    }
  });

  it('says once why it counts in one thread (--model llava-next-anyres reads image sizes here)', async () => {
    const input = join(dir, 'stats-anyres.json');
    await writeFile(input, JSON.stringify(records(20)));
    const args = ['stats', input, '--model', 'llava-next-anyres', '--images', dir, '--json'];
    const two = await runCli([...args, '--workers', '2']);
    const one = await runCli([...args, '--workers', '1']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr.match(/counting in one thread \(llava-next-anyres reads image sizes/g)).toHaveLength(1);
    expect(one.stderr).not.toMatch(/one thread/);
  });

  it('a worker that dies: run/worker-failed, exit 1, no stack trace, never a hang', async () => {
    const case_ = join(dir, 'stats-crash');
    execFileSync('mkdir', ['-p', case_]);
    await writeFile(
      join(case_, 'dies.mjs'),
      `import { isMainThread } from 'node:worker_threads';
      export default { specVersion: 1, name: 'dies', decode(value) {
        if (!isMainThread && value.id === 'r900') process.exit(9);
        return { ok: true, record: value };
      } };`,
    );
    const input = join(case_, 'in.json');
    await writeFile(input, JSON.stringify(records(2000), null, 2));
    const result = await runCli(
      ['stats', input, '--from', 'dies', '--plugin', './dies.mjs', '--workers', '2', '--json'],
      { cwd: case_ },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/The stats stopped: a worker thread ended \(exit code 9\).*\[run\/worker-failed\]/);
    expect(result.stderr).toMatch(/hint: Nothing was counted\. Run again with --workers 1/);
    expect(result.stdout + result.stderr).not.toMatch(STACK);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} in the middle of a run with workers (the FIFO's writer still open) → exit ${code} at once`, async () => {
      const { fifo } = await interruptCase(dir, `stats-${signal}`);
      const child = spawnCli(['stats', fifo, '--from', 'llava', '--workers', '2', '--json']);
      const result = finished(child);
      const feed = createWriteStream(fifo);
      feed.on('error', () => undefined);
      const head = records(3000, [5]).map((r) => JSON.stringify(r));
      // (the write is done once the child has read all but a pipe's worth of it: the run is in the middle)
      await new Promise<void>((done) => feed.write(`[\n${head.join(',\n')},\n`, () => done()));
      await sleep(300);
      const stopped = await signalAndWait(child, result, signal);
      feed.destroy();
      expect(stopped.signal, 'the child hung after the signal and was killed').toBeNull();
      expect(stopped.code, stopped.stderr).toBe(code);
      expect(stopped.stderr).toMatch(/Interrupted/);
      expect(stopped.stdout).toBe('');
      expect(stopped.stdout + stopped.stderr).not.toMatch(STACK);
    });
  }
});
