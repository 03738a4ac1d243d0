#!/usr/bin/env node
/**
 * llavakit benchmark (root `pnpm bench`):
 *
 *   node tools/datagen/dist/bench.js [--size full|small] [--only a,b] [--data-dir .bench] [--runs 3] [--seed 1]
 *                                    [--workers N] [--json] [--list]
 *
 * Generates the data once (cached in the data folder by kind+seed+size), times each case with /usr/bin/time -v
 * (median wall time of N runs, peak RSS) and checks the targets. Exit code 0 even when cases fail or miss targets.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CASES } from './cases.js';
import { type BenchSize, renderBenchTable, runBench } from './harness.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'full' },
      only: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      runs: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      workers: { type: 'string' },
      root: { type: 'string' },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: bench [--size full|small] [--only case[,case]] [--data-dir .bench] [--runs N] [--seed S] [--workers N] [--json] [--list]\n  --workers N: worker threads of the parallel llava cases (default: the available parallelism); the *-1w cases run one thread\n',
    );
    return;
  }
  if (values.list) {
    for (const c of DEFAULT_CASES) process.stdout.write(`${c.name.padEnd(24)} ${c.description}\n`);
    return;
  }
  if (values.size !== 'full' && values.size !== 'small')
    throw new Error(`--size must be full or small, got ${values.size}`);
  const root = values.root ? resolve(values.root) : fileURLToPath(new URL('../../../', import.meta.url));
  const only = (values.only ?? []).flatMap((o) => o.split(',')).filter(Boolean);
  const unknown = only.filter((o) => !DEFAULT_CASES.some((c) => c.name === o));
  if (unknown.length) throw new Error(`unknown case(s): ${unknown.join(', ')} (see --list)`);
  const report = await runBench({
    cases: DEFAULT_CASES,
    root,
    dataDir: resolve(root, values['data-dir'] ?? '.bench'),
    size: values.size as BenchSize,
    seed: Number(values.seed),
    runs: Number(values.runs),
    only,
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : renderBenchTable(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
