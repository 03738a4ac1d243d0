#!/usr/bin/env node
// Reader benchmark: whole-file JSON.parse vs readRecords (fast engine) vs readRecords (stream-json engine).
// Each run is a fresh child process; reports median wall time, MiB/s and peak RSS (maxRSS).
// Usage: pnpm --filter @llavakit/reader build && node scripts/bench.mjs <file.json> [--runs 5] [--methods a,b]
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--')) ?? '/tmp/llava_instruct_150k.bench.json';

if (process.env.READER_BENCH_CHILD) {
  const method = process.env.READER_BENCH_CHILD;
  const t0 = process.hrtime.bigint();
  let n = 0;
  if (method === 'json-parse') {
    n = JSON.parse(readFileSync(file, 'utf8')).length;
  } else {
    const { readRecords } = await import('../dist/index.js');
    const engine = method === 'stream-json' ? 'stream-json' : 'fast';
    for await (const item of readRecords(file, { engine })) if (item.ok) n++;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ n, ms, rssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const methodsArg = args.indexOf('--methods');
const methods = methodsArg >= 0 ? args[methodsArg + 1].split(',') : ['json-parse', 'fast', 'stream-json'];
const size = statSync(file).size;
const self = fileURLToPath(import.meta.url);
console.log(
  `file ${file}: ${size} bytes (${(size / 2 ** 20).toFixed(1)} MiB), node ${process.version}, ${runs} runs each`,
);
console.log('| method | records | median ms (min–max) | MiB/s (median) | peak RSS MiB (max) |');
console.log('|---|---:|---:|---:|---:|');
for (const method of methods) {
  const results = [];
  for (let r = 0; r < (method === 'stream-json' ? Math.min(runs, 3) : runs); r++) {
    const out = execFileSync(process.execPath, [self, file], {
      env: { ...process.env, READER_BENCH_CHILD: method },
      maxBuffer: 1 << 20,
    });
    results.push(JSON.parse(out.toString()));
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const med = ms[Math.floor(ms.length / 2)];
  const rss = Math.max(...results.map((r) => r.rssMiB));
  console.log(
    `| ${method} | ${results[0].n} | ${med.toFixed(0)} (${ms[0].toFixed(0)}–${ms[ms.length - 1].toFixed(0)}) | ${(size / 2 ** 20 / (med / 1000)).toFixed(1)} | ${rss.toFixed(0)} |`,
  );
}
