#!/usr/bin/env node
/**
 * The Parquet benchmark (root `pnpm bench:parquet`):
 *
 *   node tools/datagen/dist/bench-parquet.js [--size full|small] [--runs 1] [--data-dir .bench] [--seed 1] [--json]
 *     [--only case,case] [--help]
 *
 * Two data sets — llava_instruct_150k.json (157,712 records) over its tree of tiny COCO images, and 10,000 records
 * each with its own ~100 KB JPEG — go to Parquet (`llava convert --to parquet`, the Hub folder layout) and back
 * (`llava convert --from parquet --to llava --extract-images`, one file per image; and `--to parquet`, a re-shard),
 * timed with peak RSS by the bench harness, side by side with DuckDB's `COPY … TO … (FORMAT parquet)` on the same
 * data (JSON + image files → Parquet, against the write; Parquet → Parquet, against the re-shard). Throughput is MB/s
 * of image bytes. `small` is 1/100 of the records. A third set, llava_v1_5_mix665k.json (665,298 mostly small rows,
 * no image files), goes to Parquet with its images as paths, against DuckDB's COPY of the same JSON: the case where
 * row groups must be sized by rows and bytes, not by images, and memory must not grow with the row groups.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import jpeg from 'jpeg-js';
import type { BenchCase, BenchReport, CaseResult } from './harness.js';
import { renderBenchTable, runBench } from './harness.js';
import { Rng } from './rng.js';

const LLAVA = 'apps/cli/bin/run.js';
const DUCKDB = 'tools/datagen/dist/duckdb-baseline.js';
/** Peak RSS target of every llavakit case. */
export const PARQUET_RSS_LIMIT_MIB = 300;
/** llavakit's wall time at most this many times DuckDB's on the same data. */
export const PARQUET_DUCKDB_RATIO = 1.5;

/** 10,000 records (100 for `small`), each with its own JPEG of about 100 KB, in `dir`/data.json + `dir`/images. */
export async function writeBigImageSet(dir: string, records: number, seed = 1): Promise<{ bytes: number }> {
  const done = join(dir, '.done');
  if (existsSync(done)) return JSON.parse(await readFile(done, 'utf8')) as { bytes: number };
  await mkdir(join(dir, 'images'), { recursive: true });
  const rng = new Rng(seed);
  // A pool of noisy JPEGs (300×240 at quality 80 ≈ 100 KB); each file gets a unique tail after the JPEG so no
  // two images are equal (no dictionary or compressor can share bytes between rows).
  const pool: Buffer[] = [];
  for (let i = 0; i < 16; i++) {
    const width = 300;
    const height = 240;
    const data = Buffer.alloc(width * height * 4);
    for (let p = 0; p < data.length; p++) data[p] = Math.floor(rng.next() * 256);
    pool.push(Buffer.from(jpeg.encode({ width, height, data }, 80).data));
  }
  const out: unknown[] = [];
  let bytes = 0;
  for (let i = 0; i < records; i++) {
    const name = `${String(i).padStart(8, '0')}.jpg`;
    const tail = Buffer.alloc(16);
    for (let t = 0; t < 16; t++) tail[t] = Math.floor(rng.next() * 256);
    const file = Buffer.concat([pool[i % pool.length]!, tail]);
    await writeFile(join(dir, 'images', name), file);
    bytes += file.length;
    out.push({
      id: `big-${i}`,
      image: name,
      conversations: [
        { from: 'human', value: `<image>\nDescribe image ${i} in detail.` },
        { from: 'gpt', value: `Image ${i} shows coloured noise; there is no object to name.` },
      ],
    });
  }
  await writeFile(join(dir, 'data.json'), JSON.stringify(out));
  await writeFile(done, JSON.stringify({ bytes }));
  return { bytes };
}

/** Total image bytes embedded in Parquet files (read with DuckDB). */
async function imageBytesOf(glob: string): Promise<number | null> {
  if (!existsSync(glob.replace(/\/data\/\*\.parquet$/, ''))) return null;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT coalesce(sum(octet_length(image.bytes)), 0)::BIGINT AS n FROM read_parquet('${glob.replaceAll("'", "''")}')`,
    );
    return Number((reader.getRowObjectsJson()[0] as { n: string }).n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const sh = (command: string) => ['sh', '-c', command];
const q = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** The cases of one data set: llavakit and DuckDB, each way. */
function casesOf(
  label: string,
  input: { json: string; images: string } | { kind: 'instruct150k' },
  out: (name: string) => string,
): BenchCase[] {
  const needs = 'kind' in input ? [{ kind: input.kind, images: true }] : [];
  const json = (ctx: Parameters<BenchCase['command']>[0]) => ('kind' in input ? ctx.file(input.kind) : input.json);
  const images = (ctx: Parameters<BenchCase['command']>[0]) =>
    'kind' in input ? ctx.images(input.kind) : input.images;
  const hub = out(`pq-${label}`);
  return [
    {
      name: `parquet-write-${label}`,
      description: `llava convert → Parquet (Hub folder, images embedded) of the ${label} set`,
      needs,
      command: (ctx) =>
        sh(
          `rm -rf ${q(hub)} && node ${LLAVA} convert ${q(json(ctx))} --to parquet -o ${q(hub)} --images ${q(images(ctx))} --quiet`,
        ),
      targets: [
        { metric: 'rss', max: PARQUET_RSS_LIMIT_MIB },
        { metric: 'wall', max: PARQUET_DUCKDB_RATIO, relativeTo: `duckdb-write-${label}` },
      ],
    },
    {
      name: `duckdb-write-${label}`,
      description: `baseline: DuckDB read_json + read_blob → COPY … TO … (FORMAT parquet), ${label} set`,
      needs,
      command: (ctx) => ['node', DUCKDB, 'write', json(ctx), images(ctx), out(`duckdb-${label}.parquet`)],
    },
    {
      name: `parquet-read-${label}`,
      description: `llava convert Parquet → llava JSON with --extract-images, ${label} set`,
      needs,
      command: () =>
        sh(
          `rm -rf ${q(out(`back-${label}`))} && node ${LLAVA} convert ${q(hub)} --from parquet --to llava -o ${q(out(`back-${label}/data.json`))} --extract-images ${q(out(`back-${label}/images`))} --quiet`,
        ),
      // Writes one file per image (DuckDB has no equivalent): memory is the target; compare with the
      // re-shard below for throughput.
      targets: [{ metric: 'rss', max: PARQUET_RSS_LIMIT_MIB }],
    },
    {
      name: `parquet-reshard-${label}`,
      description: `llava convert Parquet → Parquet (bytes stay embedded), ${label} set`,
      needs,
      command: () =>
        sh(
          `rm -rf ${q(out(`reshard-${label}`))} && node ${LLAVA} convert ${q(hub)} --from parquet --to parquet -o ${q(out(`reshard-${label}`))} --quiet`,
        ),
      targets: [
        { metric: 'rss', max: PARQUET_RSS_LIMIT_MIB },
        { metric: 'wall', max: PARQUET_DUCKDB_RATIO, relativeTo: `duckdb-copy-${label}` },
      ],
    },
    {
      name: `duckdb-copy-${label}`,
      description: `baseline: DuckDB read_parquet → COPY … TO … (FORMAT parquet), ${label} set`,
      needs,
      command: () => ['node', DUCKDB, 'copy', `${hub}/data/*.parquet`, out(`duckdb-copy-${label}.parquet`)],
    },
  ];
}

/** JSON with image paths only (no image files) → Parquet: llavakit and DuckDB. */
function pathOnlyCases(out: (name: string) => string): BenchCase[] {
  const hub = out('pq-mix665k');
  return [
    {
      name: 'parquet-write-mix665k',
      description: 'llava convert llava_v1_5_mix665k.json → Parquet (no image files: path-only Image cells)',
      needs: [{ kind: 'mix665k' }],
      command: (ctx) =>
        sh(`rm -rf ${q(hub)} && node ${LLAVA} convert ${q(ctx.file('mix665k'))} --to parquet -o ${q(hub)} --quiet`),
      targets: [
        { metric: 'rss', max: PARQUET_RSS_LIMIT_MIB },
        { metric: 'wall', max: PARQUET_DUCKDB_RATIO, relativeTo: 'duckdb-write-mix665k' },
      ],
    },
    {
      name: 'duckdb-write-mix665k',
      description: 'baseline: DuckDB read_json → COPY … TO … (FORMAT parquet), images as {bytes: NULL, path}',
      needs: [{ kind: 'mix665k' }],
      command: (ctx) => ['node', DUCKDB, 'write-paths', ctx.file('mix665k'), out('duckdb-mix665k.parquet')],
    },
  ];
}

const HELP = `Usage: node tools/datagen/dist/bench-parquet.js [options]

Times llavakit's Parquet conversions (write, read with --extract-images, re-shard) against DuckDB on the same data,
once each, with peak RSS; writes <data-dir>/out/bench-parquet.json.

  --size full|small   full-size data (default) or 1/100 of the records
  --runs N            runs per case (median; default 1)
  --data-dir DIR      where data is generated and outputs go (default .bench, git-ignored)
  --seed N            data seed (default 1)
  --only A,B          run only these cases (names as in the table, e.g. parquet-reshard-150k,duckdb-copy-150k)
  --json              print the report as JSON
  --help              this text
`;

function throughput(report: BenchReport, bytes: Record<string, number | null>): string[] {
  const lines = ['', 'image throughput (MB/s of image bytes; 1 MB = 10^6 bytes):'];
  for (const c of report.cases as CaseResult[]) {
    const label = c.name.replace(/^(parquet|duckdb)-(write|read|reshard|copy)-/, '');
    if (label === 'mix665k') continue;
    const n = bytes[label];
    if (!n || !c.wallMs) continue;
    lines.push(
      `  ${c.name.padEnd(24)} ${(n / 1e6 / (c.wallMs / 1000)).toFixed(1).padStart(8)} MB/s  (${(n / 1e6).toFixed(1)} MB)`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'full' },
      runs: { type: 'string', default: '1' },
      'data-dir': { type: 'string' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean' },
      only: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.size !== 'full' && values.size !== 'small') throw new Error('--size must be full or small');
  const size = values.size;
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const dataDir = resolve(root, values['data-dir'] ?? '.bench');
  const outDir = join(dataDir, 'out');
  await mkdir(outDir, { recursive: true });
  const big = join(dataDir, `parquet-big-${size}-s${values.seed}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`writing the big-image set → ${big}`);
  const bigData = await writeBigImageSet(big, size === 'full' ? 10_000 : 100, Number(values.seed));
  const out = (name: string) => join(outDir, name);
  const report = await runBench({
    cases: [
      ...casesOf('150k', { kind: 'instruct150k' }, out),
      ...casesOf('big10k', { json: join(big, 'data.json'), images: join(big, 'images') }, out),
      ...pathOnlyCases(out),
    ],
    ...(values.only ? { only: values.only.split(',').map((name) => name.trim()) } : {}),
    root,
    dataDir,
    size,
    seed: Number(values.seed),
    runs: Number(values.runs),
    log,
  });
  const bytes = {
    '150k': await imageBytesOf(join(out('pq-150k'), 'data/*.parquet')),
    big10k: (await imageBytesOf(join(out('pq-big10k'), 'data/*.parquet'))) ?? bigData.bytes,
  };
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, imageBytes: bytes }, null, 2)}\n`);
  else process.stdout.write(`${renderBenchTable(report)}\n${throughput(report, bytes).join('\n')}\n`);
  // keep the last report beside the data
  await writeFile(join(outDir, 'bench-parquet.json.tmp'), JSON.stringify({ ...report, imageBytes: bytes }, null, 2));
  await rename(join(outDir, 'bench-parquet.json.tmp'), join(outDir, 'bench-parquet.json'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
