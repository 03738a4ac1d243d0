#!/usr/bin/env node
// Benchmark of `checkImages`: the 665K mix made by the project's generator (tools/datagen), its image tree written
// once under BENCH_DIR (default /tmp/llavakit-bench-images, reused when present), then every image reference
// checked (exists, magic bytes, extension, truncation, dimensions) against the playground folder.
//
//   pnpm turbo run build --filter @llavakit/images --filter @llavakit/reader --filter @llavakit/datagen
//   node packages/images/scripts/bench-check.mjs [--runs 3] [--concurrency 64]
//
// Prints one JSON line per phase. Numbers depend on the machine; this is not a test.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const { checkImages, createImageResolver, imageRefsFromRecords, parseImageSourceSpec } = await import(
  join(repo, 'packages/images/dist/index.js')
);
const { encodeTinyImage } = await import(join(repo, 'tools/testkit/dist/index.js'));
const { readRecords } = await import(join(repo, 'packages/reader/dist/index.js'));

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '64' } },
});
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
const dir = process.env.BENCH_DIR ?? '/tmp/llavakit-bench-images';
const dataset = join(dir, 'llava_v1_5_mix665k.json');
const playground = join(dir, 'playground');
const datagen = join(repo, 'tools/datagen/dist/cli.js');
const log = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

if (!existsSync(dataset)) {
  execFileSync(process.execPath, [datagen, 'mix665k', '-o', dataset], { stdio: 'inherit' });
}
if (!existsSync(join(playground, '.complete'))) {
  execFileSync(process.execPath, [datagen, 'images', dataset, '-o', playground, '--broken', '30'], {
    stdio: 'inherit',
  });
  writeFileSync(join(playground, '.complete'), new Date().toISOString());
}

// Phase 1: read the dataset and collect its references (the reader's cost, reported apart).
let t = performance.now();
const refs = [];
for await (const ref of imageRefsFromRecords(readRecords(dataset, { file: dataset }), dataset)) refs.push(ref);
const distinct = new Set(refs.map((r) => r.ref)).size;
log({
  phase: 'read',
  records: 665298,
  references: refs.length,
  distinct,
  seconds: round((performance.now() - t) / 1000),
});

// Phase 2: check the references, a fresh resolver per run (folders listed again), OS cache warm after run 1.
for (let run = 1; run <= runs; run++) {
  const resolver = createImageResolver([parseImageSourceSpec(playground)]);
  t = performance.now();
  const summary = await checkImages(refs, resolver, { concurrency });
  const seconds = (performance.now() - t) / 1000;
  await resolver.close();
  log({
    phase: 'check',
    run,
    references: summary.total.references,
    distinct: summary.total.distinct,
    ok: summary.total.ok,
    problems: summary.problems.length,
    seconds: round(seconds),
    referencesPerSecond: Math.round(summary.total.references / seconds),
    rssMiB: Math.round(process.memoryUsage().rss / 1048576),
  });
}

// Phase 3: exactly 600,000 distinct references, each once: the mix's distinct paths plus extra files spread over
// the five prefix folders (written once, reused).
{
  const prefixes = ['coco/train2017', 'gqa/images', 'ocr_vqa/images', 'textvqa/train_images', 'vg/VG_100K'];
  const seen = new Set();
  const list = [];
  for (const r of refs) if (!seen.has(r.ref)) seen.add(r.ref) && list.push({ ref: r.ref, recordIndex: list.length });
  const extra = Math.max(0, 600_000 - list.length);
  const bytes = encodeTinyImage('jpeg', { width: 24, height: 16 });
  const marker = join(playground, `.extra-${extra}`);
  const extraRefs = Array.from(
    { length: extra },
    (_, i) => `${prefixes[i % prefixes.length]}/extra_${String(i).padStart(7, '0')}.jpg`,
  );
  if (!existsSync(marker)) {
    for (const ref of extraRefs) writeFileSync(join(playground, ref), bytes);
    writeFileSync(marker, '');
  }
  for (const ref of extraRefs) list.push({ ref, recordIndex: list.length });
  for (let run = 1; run <= runs; run++) {
    const resolver = createImageResolver([parseImageSourceSpec(playground)]);
    t = performance.now();
    const summary = await checkImages(list, resolver, { concurrency });
    const seconds = (performance.now() - t) / 1000;
    await resolver.close();
    log({
      phase: 'check-600k-distinct',
      run,
      references: summary.total.references,
      distinct: summary.total.distinct,
      problems: summary.problems.length,
      seconds: round(seconds),
    });
  }
}

// Phase 4: the floor: a bare open/read/close loop over the same 600,000 files, no resolution, no sniffing.
{
  const { openSync, readSync, closeSync } = await import('node:fs');
  const buffer = new Uint8Array(65536);
  const files = [...new Set(refs.map((r) => r.ref))];
  t = performance.now();
  for (const ref of files) {
    const fd = openSync(join(playground, ref), 'r');
    readSync(fd, buffer, 0, buffer.length, 0);
    closeSync(fd);
  }
  log({ phase: 'floor-open-read-close', files: files.length, seconds: round((performance.now() - t) / 1000) });
}

// Phase 5: end to end as the CLI does it: stream records, check as they come.
{
  const resolver = createImageResolver([parseImageSourceSpec(playground)]);
  t = performance.now();
  const summary = await checkImages(imageRefsFromRecords(readRecords(dataset, { file: dataset }), dataset), resolver, {
    concurrency,
  });
  await resolver.close();
  log({ phase: 'read+check', references: summary.total.references, seconds: round((performance.now() - t) / 1000) });
}

function round(x) {
  return Math.round(x * 100) / 100;
}
