import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils.js';
import {
  expectInterrupted,
  finished,
  interruptCase,
  record,
  signalAndWait,
  spawnCli,
  temporaries,
  until,
} from './fixtures/helpers.js';

/**
 * SIGINT and SIGTERM sent to a real `llava convert` child in the middle of a conversion: the targets keep their old
 * content, the temporary files are gone before exit, the exit code is 130 / 143, and the --json summary says the
 * run was interrupted and wrote nothing. The input is a FIFO the test feeds, so the signal lands mid-run for sure:
 * the test waits until the temporary output exists, while the rest of the input is still to come.
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-faults-sig-')));
afterAll(() => cleanup());

describe('an interrupted conversion leaves every target as it was', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} → exit ${code}, old content kept, no temporary file`, async () => {
      const { dir: case_, fifo, output, rejects } = await interruptCase(dir, signal);
      const child = spawnCli(['convert', fifo, '--to', 'sharegpt', '-o', output, '--rejects', rejects, '--json']);
      const result = finished(child);
      // Feed the head (a rejected record among good ones), then hold the FIFO open: the run cannot finish.
      const feed = createWriteStream(fifo);
      feed.on('error', () => undefined); // the child closes its end when it exits
      feed.write('[\n');
      const bad = record('bad', { conversations: [{ from: 'narrator', value: 'x' }] });
      for (let i = 0; i < 2000; i++) feed.write(`${JSON.stringify(i === 5 ? bad : record(`r${i}`))},\n`);
      // Both temporary files (output and rejects) exist: the run is in the middle.
      await until(() => temporaries(case_).length >= 2, 20_000);
      child.kill(signal);
      const stopped = await result;
      feed.destroy();
      await expectInterrupted(stopped, code, { dir: case_, output, rejects });
      expect(existsSync(fifo)).toBe(true);
    });
  }

  it('SIGINT while a plugin encode never settles: the run ends at once (130), nothing written, no temporary file', async () => {
    const case_ = join(dir, 'stuck');
    execFileSync('mkdir', ['-p', case_]);
    await writeFile(
      join(case_, 'stuck.js'),
      "export default { specVersion: 1, name: 'stuck', encode: () => new Promise(() => {}) };",
    );
    const input = join(case_, 'in.json');
    await writeFile(input, JSON.stringify([record('a'), record('b')]));
    const output = join(case_, 'out.json');
    await writeFile(output, 'old output');
    const child = spawnCli(['convert', input, '--to', 'stuck', '-o', output, '--plugin', './stuck.js', '--json'], {
      cwd: case_,
      env: { LLAVA_PLUGIN_TIMEOUT_MS: '60000' },
    });
    const result = finished(child);
    await until(() => temporaries(case_).length >= 1, 20_000);
    const sent = Date.now();
    child.kill('SIGINT');
    const { code: exit, stdout, stderr } = await result;
    expect(exit, stderr).toBe(130);
    // Well before the 5 s grace exit and the 60 s encode limit: the stuck record was abandoned on the signal.
    expect(Date.now() - sent).toBeLessThan(4000);
    expect(JSON.parse(stdout)).toMatchObject({
      failed: true,
      written: 0,
      rejected: 0,
      fatal: { ruleId: 'run/interrupted' },
    });
    expect(await readFile(output, 'utf8')).toBe('old output');
    expect(temporaries(case_)).toEqual([]);
  });
});

describe('a FIFO input whose writer has gone quiet', () => {
  // Everything the writer sent is read and it holds its end open, so the reader waits in a read: a blocking read on
  // libuv's thread pool cannot be cancelled and Node's exit waits for it (this hung before the reader went through
  // the event loop for pipes). The signal must still end the run at once, with and without worker threads.
  for (const [signal, code, workers] of [
    ['SIGINT', 130, '1'],
    ['SIGTERM', 143, '1'],
    ['SIGINT', 130, '2'],
    ['SIGTERM', 143, '2'],
  ] as const) {
    it(`${signal} with --workers ${workers} → exit ${code} at once, old content kept, no temporary file`, async () => {
      const { dir: case_, fifo, output, rejects } = await interruptCase(dir, `quiet-${signal}-${workers}`);
      const args = ['convert', fifo, '--from', 'llava', '--to', 'sharegpt', '-o', output, '--rejects', rejects];
      const child = spawnCli([...args, '--workers', workers, '--json']);
      const result = finished(child);
      const feed = createWriteStream(fifo);
      feed.on('error', () => undefined);
      const bad = record('bad', { conversations: [{ from: 'narrator', value: 'x' }] });
      const head = Array.from({ length: 600 }, (_, i) => JSON.stringify(i === 5 ? bad : record(`r${i}`)));
      await new Promise<void>((done) => feed.write(`[\n${head.join(',\n')},\n`, () => done()));
      await until(() => temporaries(case_).length >= 2, 20_000);
      // The child has taken all of it (the pipe is empty) and now waits on the silent writer.
      await sleep(300);
      const stopped = await signalAndWait(child, result, signal);
      feed.destroy();
      expect(stopped.signal, 'the child hung after the signal and was killed').toBeNull();
      // The run itself wound down and printed its summary: the 5 s grace exit (taken when the read is not given up on
      // the signal) prints none, so expectInterrupted's summary checks fail on it.
      await expectInterrupted(stopped, code, { dir: case_, output, rejects });
    });
  }
});
