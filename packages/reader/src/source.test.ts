import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from './read.js';
import { openSource, openStreamPath } from './source.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-reader-source-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A FIFO with a writer process that sends `text` and then holds its end open for `holdSeconds`. */
function quietFifo(name: string, text: string, holdSeconds = 30) {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  const held = spawn('sh', ['-c', `{ printf '%s' "$1"; sleep ${holdSeconds}; } > "$2"`, 'sh', text, path], {
    stdio: 'ignore',
  });
  return { path, stop: () => held.kill('SIGKILL') };
}

describe('openStreamPath / openSource on a FIFO', () => {
  it('reads what the writer sends, whenever it opens, and ends when it closes', async () => {
    const path = join(dir, 'late.fifo');
    execFileSync('mkfifo', [path]);
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of openStreamPath(path)) chunks.push(chunk as Buffer);
    })();
    // The writer comes later and sends in two parts.
    const writer = spawn('sh', [
      '-c',
      `{ sleep 0.3; printf '[{"a":1},'; sleep 0.2; printf '{"a":2}]'; } > "$1"`,
      'sh',
      path,
    ]);
    await reading;
    writer.kill();
    expect(Buffer.concat(chunks).toString()).toBe('[{"a":1},{"a":2}]');
  });

  it('an abort ends a wait on a writer that has gone quiet, with the signal’s reason', async () => {
    const { path, stop } = quietFifo('quiet.fifo', '[{"a":1},');
    const controller = new AbortController();
    const { chunks } = await openSource(path, { signal: controller.signal });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of chunks) {
        seen.push(chunk.toString());
        setTimeout(() => controller.abort(new Error('stop now')), 100);
      }
    })();
    await expect(reading).rejects.toThrow('stop now');
    expect(seen.join('')).toBe('[{"a":1},');
    stop();
  });

  it('readRecords yields the records that came, then throws the reason on abort', async () => {
    const { path, stop } = quietFifo('records.fifo', '[{"id":"a"},{"id":"b"},');
    const controller = new AbortController();
    const ids: unknown[] = [];
    const reading = (async () => {
      for await (const item of readRecords(path, { signal: controller.signal })) {
        if (item.ok) ids.push((item.value as { id: string }).id);
        if (ids.length === 2) setTimeout(() => controller.abort(new Error('interrupted')), 100);
      }
    })();
    await expect(reading).rejects.toThrow('interrupted');
    expect(ids).toEqual(['a', 'b']);
    stop();
  });
});
