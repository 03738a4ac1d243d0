import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from './generate.js';
import { PYTHON_DEDUP, PYTHON_STATS } from './ops-baselines.js';

const run = promisify(execFile);
const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../../apps/cli/bin/run.js');
const hasPython = spawnSync('python3', ['--version']).status === 0;

/** The Python baselines of the bench compute exactly what `llava stats` and `llava dedup` report. */
describe.skipIf(!hasPython)('ops bench baselines agree with the CLI', () => {
  let dir: string;
  let data: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-ops-baselines-'));
    data = join(dir, 'mix.json');
    await generate('mix665k', { out: data, records: 3000, seed: 3 });
    await writeFile(join(dir, 'stats.py'), PYTHON_STATS);
    await writeFile(join(dir, 'dedup.py'), PYTHON_DEDUP);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('stats: records, sources, turns, images, placement and duplicates', { timeout: 60_000 }, async () => {
    const py = JSON.parse((await run('python3', [join(dir, 'stats.py'), data])).stdout);
    const js = JSON.parse((await run(process.execPath, [cli, 'stats', data, '--no-tokens', '--json'])).stdout);
    const keys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [String(k), v]));
    expect(js.records).toBe(py.records);
    expect(js.textOnly).toBe(py.textOnly);
    expect(js.sources).toEqual(py.sources);
    expect(js.turns.counts).toEqual(keys(py.turns));
    expect(js.imagesPerRecord).toEqual(keys(py.imagesPerRecord));
    expect(js.images).toBe(py.images);
    for (const [where, n] of Object.entries(py.imagePlacement as Record<string, number>)) {
      expect(js.imagePlacement[where]).toBe(n);
    }
    expect({ ids: js.duplicates.ids, conversations: js.duplicates.conversations }).toEqual(py.duplicates);
    expect(py.duplicates.ids).toBeGreaterThan(0);
  });

  it('dedup: written, rejected and groups', { timeout: 60_000 }, async () => {
    const py = JSON.parse((await run('python3', [join(dir, 'dedup.py'), data])).stdout);
    const out = join(dir, 'unique.json');
    const js = JSON.parse(
      (await run(process.execPath, [cli, 'dedup', data, '--by', 'conversation', '-o', out, '--json'])).stdout,
    );
    expect({ read: js.read, written: js.written, rejected: js.rejected, groups: js.groups }).toEqual(py);
  });
});
