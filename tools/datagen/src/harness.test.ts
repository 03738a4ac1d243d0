import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CASES } from './cases.js';
import { type BenchCase, parseTimeOutput, renderBenchTable, runBench } from './harness.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-bench-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SAMPLE = `\tCommand being timed: "node x.js"
\tUser time (seconds): 1.20
\tPercent of CPU this job got: 99%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50
\tMaximum resident set size (kbytes): 204800
\tExit status: 0
`;

describe('parseTimeOutput', () => {
  it('reads wall clock and peak RSS from GNU time -v', () => {
    expect(parseTimeOutput(SAMPLE)).toEqual({ wallMs: 62500, maxRssKiB: 204800 });
    expect(parseTimeOutput(SAMPLE.replace('1:02.50', '1:00:03'))).toMatchObject({ wallMs: 3603000 });
    expect(parseTimeOutput('nothing')).toEqual({ wallMs: null, maxRssKiB: null });
  });
});

describe('runBench', () => {
  it('times commands, reports failures without throwing and evaluates targets', { timeout: 60_000 }, async () => {
    const cases: BenchCase[] = [
      {
        name: 'base',
        description: 'baseline',
        needs: [],
        command: () => ['node', '-e', 'let s=0;for(let i=0;i<1e6;i++)s+=i'],
      },
      {
        name: 'fast',
        description: 'fast',
        needs: [],
        command: () => ['node', '-e', ''],
        targets: [
          { metric: 'wall', max: 100, relativeTo: 'base' },
          { metric: 'rss', max: 100000 },
          { metric: 'wall', max: 60 },
        ],
      },
      {
        name: 'broken',
        description: 'fails',
        needs: [],
        command: () => ['node', '-e', 'console.error("boom");process.exit(3)'],
        targets: [{ metric: 'wall', max: 1, relativeTo: 'base' }],
      },
      { name: 'missing-program', description: 'no such program', needs: [], command: () => ['/nonexistent/program'] },
      {
        name: 'not-found',
        description: 'accepted exit code but rejected stderr',
        needs: [],
        acceptExit: [0, 1],
        failOnStderr: /command \S+ not found/,
        command: () => ['node', '-e', 'console.error("command validate:x not found");process.exit(1)'],
      },
      {
        name: 'needs-tool',
        description: 'skipped: its probe fails',
        needs: [],
        requires: { command: ['node', '-e', 'process.exit(1)'], reason: 'the probe said no' },
        command: () => ['node', '-e', 'throw new Error("must not run")'],
      },
      {
        name: 'relative-to-skipped',
        description: 'target against a skipped case',
        needs: [],
        command: () => ['node', '-e', ''],
        targets: [{ metric: 'wall', max: 1, relativeTo: 'needs-tool' }],
      },
      {
        name: 'tool-present',
        description: 'runs: its probe passes',
        needs: [],
        requires: { command: ['node', '-e', ''], reason: 'unused' },
        command: () => ['node', '-e', ''],
      },
      {
        name: 'findings',
        description: 'exit 1 accepted',
        needs: [],
        acceptExit: [0, 1],
        command: () => ['node', '-e', 'process.exit(1)'],
      },
    ];
    const report = await runBench({ cases, root: dir, dataDir: join(dir, 'data'), runs: 2 });
    const by = Object.fromEntries(report.cases.map((c) => [c.name, c]));
    expect(by.base!.status).toBe('ok');
    expect(by.base!.runs).toHaveLength(2);
    expect(by.fast!.targets.map((t) => t.pass)).toEqual([true, report.timeTool ? true : null, true]);
    expect(by.broken!.status).toBe('failed');
    expect(by.broken!.error).toContain('boom');
    expect(by.broken!.targets[0]!.pass).toBeNull();
    expect(by['missing-program']!.status).toBe('failed');
    expect(by['not-found']!.status).toBe('failed');
    expect(by.findings!.status).toBe('ok');
    expect(by['needs-tool']).toMatchObject({ status: 'skipped', error: 'the probe said no', runs: [] });
    expect(by['relative-to-skipped']!.targets[0]!.pass).toBeNull();
    expect(by['tool-present']!.status).toBe('ok');
    const table = renderBenchTable(report);
    expect(table).toContain('needs-tool skipped: the probe said no');
    expect(table).toContain('broken');
    expect(table).toMatch(/broken\s+failed/);
  });

  it('smoke-runs the real cases on small generated data, caching the data', { timeout: 60_000 }, async () => {
    const dataDir = join(dir, 'small');
    const only = ['node-jsonparse-150k', 'python-sharegpt-150k'];
    const report = await runBench({ cases: DEFAULT_CASES, root: dir, dataDir, size: 'small', runs: 1, only });
    expect(report.cases.map((c) => c.name).sort()).toEqual(only);
    expect(report.data).toHaveLength(1);
    expect(report.data[0]).toMatchObject({ kind: 'instruct150k', records: 1578, cached: false });
    const node = report.cases.find((c) => c.name === 'node-jsonparse-150k')!;
    expect(node.status).toBe('ok');
    const out = JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.node.json'), 'utf8'));
    expect(out).toHaveLength(1578);
    expect(out[0].images).toHaveLength(1);
    expect(Object.keys(out[0])).toEqual(['conversations', 'images']);
    const python = report.cases.find((c) => c.name === 'python-sharegpt-150k')!;
    if (python.status === 'ok') {
      const py = JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.python.json'), 'utf8'));
      expect(py).toEqual(out);
    }
    const again = await runBench({
      cases: DEFAULT_CASES,
      root: dir,
      dataDir,
      size: 'small',
      runs: 1,
      only: ['node-jsonparse-150k'],
    });
    expect(again.data[0]!.cached).toBe(true);
  });

  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const built = existsSync(join(root, 'tools/datagen/dist/duckdb-baseline.js'));
  it.skipIf(!built)(
    'runs the DuckDB and orjson baselines on small data: same records as the node baseline',
    { timeout: 60_000 },
    async () => {
      const dataDir = join(dir, 'baselines');
      const only = [
        'node-jsonparse-150k',
        'duckdb-json-150k',
        'orjson-sharegpt-150k',
        'node-workers-sharegpt-150k',
        'node-copy-150k',
      ];
      const report = await runBench({ cases: DEFAULT_CASES, root, dataDir, size: 'small', runs: 1, only });
      const by = Object.fromEntries(report.cases.map((c) => [c.name, c]));
      expect(by['duckdb-json-150k']!.status).toBe('ok');
      const node = JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.node.json'), 'utf8'));
      const source = JSON.parse(await readFile(report.data[0]!.path, 'utf8'));
      const duck = JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.duckdb.json'), 'utf8'));
      expect(duck).toHaveLength(source.length);
      expect(duck.map((r: { id: string }) => r.id)).toEqual(source.map((r: { id: string }) => r.id));
      expect(duck[5].conversations).toEqual(source[5].conversations);
      // the worker ceiling writes the Node baseline's bytes; the copy floor the input's records
      expect(by['node-workers-sharegpt-150k']!.status).toBe('ok');
      const nodeText = await readFile(join(dataDir, 'out', 'instruct150k.node.json'), 'utf8');
      expect(await readFile(join(dataDir, 'out', 'instruct150k.workers.json'), 'utf8')).toBe(nodeText);
      expect(by['node-copy-150k']!.status).toBe('ok');
      expect(JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.copy.json'), 'utf8'))).toEqual(source);
      const hasOrjson = spawnSync('python3', ['-c', 'import orjson']).status === 0;
      expect(by['orjson-sharegpt-150k']!.status).toBe(hasOrjson ? 'ok' : 'skipped');
      if (hasOrjson) {
        const orjson = JSON.parse(await readFile(join(dataDir, 'out', 'instruct150k.orjson.json'), 'utf8'));
        expect(orjson).toEqual(node);
      }
    },
  );

  const cli = existsSync(join(root, 'apps/cli/dist/commands/convert.js'));
  it.skipIf(!cli)(
    'reports llava convert with --workers N beside --workers 1: the same output bytes',
    { timeout: 60_000 },
    async () => {
      const dataDir = join(dir, 'workers');
      const only = ['convert-sharegpt-150k', 'convert-sharegpt-150k-1w'];
      const report = await runBench({ cases: DEFAULT_CASES, root, dataDir, size: 'small', runs: 1, only, workers: 2 });
      const by = Object.fromEntries(report.cases.map((c) => [c.name, c]));
      expect(by['convert-sharegpt-150k']!.command).toContain('2');
      expect(by['convert-sharegpt-150k-1w']!.command.slice(-2)).toEqual(['--workers', '1']);
      expect(report.cases.map((c) => c.status)).toEqual(['ok', 'ok']);
      const parallel = await readFile(join(dataDir, 'out', 'instruct150k.sharegpt.json'), 'utf8');
      expect(parallel.length).toBeGreaterThan(1000);
      expect(await readFile(join(dataDir, 'out', 'instruct150k.sharegpt.1w.json'), 'utf8')).toBe(parallel);
    },
  );
});
