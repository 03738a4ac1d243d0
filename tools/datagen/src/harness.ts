/**
 * Benchmark harness: cases are plain command lines with targets; each is timed with GNU `/usr/bin/time -v`
 * (wall clock + peak RSS), median of N runs. A case whose command fails is reported as failed, never thrown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { generate, KINDS, type KindName } from './generate.js';
import { writeImageTree } from './images.js';
import { PYTHON_DEDUP, PYTHON_STATS } from './ops-baselines.js';
import { NODE_WORKERS_BASELINE } from './worker-baselines.js';

/** `full` = real sizes; `small` = 1/100 of the records (for smoke runs). */
export type BenchSize = 'full' | 'small';

/** What a case's command line can refer to. */
export interface BenchContext {
  /** Repository root (commands run there). */
  root: string;
  /** Data/cache folder. */
  dataDir: string;
  size: BenchSize;
  seed: number;
  /** `--workers` of the llava commands that run the parallel pipeline (`llava … --workers N`). */
  workers: number;
  /** Path of the generated file of a kind (generated on first use, cached by kind+seed+size). */
  file(kind: KindName): string;
  /** Path of the image folder written for a kind's file. */
  images(kind: KindName): string;
  /** Path of the zip archive of the same images (as CC-3M ships them: `images.zip`). */
  imagesZip(kind: KindName): string;
  /** A scratch output path for a case. */
  out(name: string): string;
  /** Path of a helper script the harness writes into the data folder (`python-baseline.py`, `node-baseline.mjs`). */
  script(
    name:
      | 'python-baseline.py'
      | 'python-orjson.py'
      | 'node-baseline.mjs'
      | 'node-workers.mjs'
      | 'python-stats.py'
      | 'python-dedup.py',
  ): string;
}

/** A limit a case must meet: absolute (`wall` seconds, `rss` MiB) or relative to another case's wall time. */
export interface BenchTarget {
  metric: 'wall' | 'rss';
  /** Maximum: seconds / MiB, or a ratio when `relativeTo` is set. */
  max: number;
  /** Name of the case whose median wall time is the denominator. */
  relativeTo?: string;
}

/** One benchmark case. */
export interface BenchCase {
  name: string;
  description: string;
  /** Generated files (and image trees) the case needs. */
  needs: { kind: KindName; images?: boolean; imagesZip?: boolean }[];
  /** argv (program first), built from the context. */
  command: (ctx: BenchContext) => string[];
  /** Exit codes that count as success (default `[0]`; checkers that report findings may exit 1). */
  acceptExit?: number[];
  /** A run whose stderr matches this fails even with an accepted exit code (e.g. oclif's "command … not found"). */
  failOnStderr?: RegExp;
  /** Run once untimed before measuring (warm caches). */
  warmup?: boolean;
  /**
   * Run the case only when this probe command exits 0 (e.g. `python3 -c "import orjson"`); otherwise the case is
   * reported as skipped with `reason`, and relative targets to it report `null`.
   */
  requires?: { command: string[]; reason: string };
  targets?: BenchTarget[];
}

/** One timed run. */
export interface BenchRun {
  wallMs: number;
  /** Peak resident set size in KiB (`null` without GNU time). */
  maxRssKiB: number | null;
  exitCode: number;
}

/** The measured outcome of one target. */
export interface TargetResult {
  label: string;
  actual: number | null;
  max: number;
  pass: boolean | null;
}

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  description: string;
  command: string[];
  status: 'ok' | 'failed' | 'skipped';
  /** Last lines of stderr of a failed run, or why a case was skipped. */
  error?: string;
  runs: BenchRun[];
  /** Median wall time, ms. */
  wallMs: number | null;
  /** Largest peak RSS over the runs, MiB. */
  maxRssMiB: number | null;
  targets: TargetResult[];
}

/** Generator timing of one data file. */
export interface DataResult {
  kind: KindName;
  path: string;
  bytes: number;
  records: number;
  cached: boolean;
  ms: number;
  images?: { written: number; missing: number; ms: number; cached: boolean };
}

/** The whole report. */
export interface BenchReport {
  size: BenchSize;
  seed: number;
  runs: number;
  node: string;
  timeTool: string | null;
  data: DataResult[];
  cases: CaseResult[];
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  cases: BenchCase[];
  root: string;
  dataDir: string;
  size?: BenchSize;
  seed?: number;
  runs?: number;
  /** Case names to run (others skipped); relative targets to skipped cases report `null`. */
  only?: string[];
  /** Per-run timeout, ms (default 30 min). */
  timeoutMs?: number;
  /** Progress messages (default: none). */
  log?: (line: string) => void;
  /** `--workers` of the parallel cases (default: the available parallelism). */
  workers?: number;
}

const GNU_TIME = '/usr/bin/time';

/** Parses `Elapsed (wall clock)` (`h:mm:ss` or `m:ss.ss`) and `Maximum resident set size` of `time -v` output. */
export function parseTimeOutput(text: string): { wallMs: number | null; maxRssKiB: number | null } {
  const rss = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([\d:.]+)/.exec(text);
  let wallMs: number | null = null;
  if (wall) {
    const parts = wall[1]!.split(':').map(Number);
    let seconds = 0;
    for (const p of parts) seconds = seconds * 60 + p;
    wallMs = Math.round(seconds * 1000);
  }
  return { wallMs, maxRssKiB: rss ? Number(rss[1]) : null };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeOnce(
  argv: string[],
  cwd: string,
  reportFile: string,
  timeoutMs: number,
): Promise<BenchRun & { stderr: string }> {
  const useTime = existsSync(GNU_TIME);
  const [cmd, ...args] = useTime ? [GNU_TIME, '-v', '-o', reportFile, ...argv] : argv;
  const t0 = performance.now();
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    let tail = '';
    const child = spawn(cmd!, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stderr: String(err) });
    });
    child.on('close', (c, signal) => {
      clearTimeout(timer);
      resolve({ code: c ?? (signal ? 128 : 1), stderr: tail });
    });
  });
  const elapsed = Math.round(performance.now() - t0);
  if (!useTime) return { wallMs: elapsed, maxRssKiB: null, exitCode: code, stderr };
  const parsed = parseTimeOutput(await readFile(reportFile, 'utf8').catch(() => ''));
  return { wallMs: parsed.wallMs ?? elapsed, maxRssKiB: parsed.maxRssKiB, exitCode: code, stderr };
}

/** Record count of a kind at a bench size. */
export function benchRecords(kind: KindName, size: BenchSize): number {
  const full = KINDS[kind].records;
  return size === 'full' ? full : Math.ceil(full / 100);
}

/** Writes the baseline scripts into the data folder. */
export async function writeBaselines(dataDir: string): Promise<void> {
  await writeFile(join(dataDir, 'python-baseline.py'), PYTHON_BASELINE);
  await writeFile(join(dataDir, 'python-orjson.py'), PYTHON_ORJSON);
  await writeFile(join(dataDir, 'node-baseline.mjs'), NODE_BASELINE);
  await writeFile(join(dataDir, 'node-workers.mjs'), NODE_WORKERS_BASELINE);
  await writeFile(join(dataDir, 'python-stats.py'), PYTHON_STATS);
  await writeFile(join(dataDir, 'python-dedup.py'), PYTHON_DEDUP);
}

/**
 * Generates (or reuses) the needed data, runs the selected cases and evaluates their targets.
 * Never throws for a failing case command.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const size = options.size ?? 'full';
  const seed = options.seed ?? 1;
  const runs = Math.max(1, options.runs ?? 3);
  const log = options.log ?? (() => {});
  const dataDir = options.dataDir;
  await mkdir(join(dataDir, 'out'), { recursive: true });
  await writeBaselines(dataDir);
  const base = (kind: KindName) => join(dataDir, `${kind}-${size}-s${seed}`);
  const ctx: BenchContext = {
    root: options.root,
    dataDir,
    size,
    seed,
    workers: options.workers ?? availableParallelism(),
    file: (kind) => `${base(kind)}.${KINDS[kind].container}`,
    images: (kind) => `${base(kind)}.images`,
    imagesZip: (kind) => `${base(kind)}.images.zip`,
    out: (name) => join(dataDir, 'out', name),
    script: (name) => join(dataDir, name),
  };
  const selected = options.only?.length ? options.cases.filter((c) => options.only!.includes(c.name)) : options.cases;
  const data = new Map<KindName, DataResult>();
  for (const c of selected) {
    for (const need of c.needs) {
      let d = data.get(need.kind);
      if (!d) {
        const path = ctx.file(need.kind);
        const st = await stat(path).catch(() => undefined);
        if (st)
          d = { kind: need.kind, path, bytes: st.size, records: benchRecords(need.kind, size), cached: true, ms: 0 };
        else {
          log(`generating ${need.kind} (${size}) → ${path}`);
          const r = await generate(need.kind, { out: path, records: benchRecords(need.kind, size), seed });
          d = { kind: need.kind, path, bytes: r.bytes, records: r.records, cached: false, ms: r.ms };
          log(
            `  ${(r.bytes / 1e6).toFixed(1)} MB in ${(r.ms / 1000).toFixed(1)} s (${(r.bytes / 1e6 / (r.ms / 1000)).toFixed(1)} MB/s)`,
          );
        }
        data.set(need.kind, d);
      }
      if (need.images && !d.images) {
        const dir = ctx.images(need.kind);
        if (existsSync(`${dir}.done`))
          d.images = { ...JSON.parse(await readFile(`${dir}.done`, 'utf8')), cached: true };
        else {
          log(`writing image tree for ${need.kind} → ${dir}`);
          await rm(dir, { recursive: true, force: true });
          const r = await writeImageTree({ dataset: d.path, dir, seed });
          d.images = { written: r.written, missing: r.missing.length, ms: r.ms, cached: false };
          await writeFile(`${dir}.done`, JSON.stringify({ written: r.written, missing: r.missing.length, ms: r.ms }));
          log(`  ${r.written} files (${r.missing.length} missing) in ${(r.ms / 1000).toFixed(1)} s`);
        }
      }
      if (need.imagesZip) {
        const zip = ctx.imagesZip(need.kind);
        if (!existsSync(zip)) {
          log(`writing image zip for ${need.kind} → ${zip}`);
          const r = await writeImageTree({ dataset: d.path, zip, seed });
          log(`  ${r.written} entries (${r.missing.length} missing) in ${(r.ms / 1000).toFixed(1)} s`);
        }
      }
    }
  }

  const results: CaseResult[] = [];
  for (const c of selected) {
    const command = c.command(ctx);
    const result: CaseResult = {
      name: c.name,
      description: c.description,
      command,
      status: 'ok',
      runs: [],
      wallMs: null,
      maxRssMiB: null,
      targets: [],
    };
    if (c.requires) {
      const [program, ...args] = c.requires.command;
      const probe = spawnSync(program!, args, { cwd: options.root, stdio: 'ignore', timeout: 60_000 });
      if (probe.status !== 0) {
        result.status = 'skipped';
        result.error = c.requires.reason;
        log(`skipping ${c.name}: ${c.requires.reason}`);
        results.push(result);
        continue;
      }
    }
    const report = join(dataDir, 'out', `${c.name}.time.txt`);
    log(`running ${c.name}: ${command.join(' ')}`);
    const total = runs + (c.warmup ? 1 : 0);
    for (let r = 0; r < total; r++) {
      const run = await timeOnce(command, options.root, report, options.timeoutMs ?? 30 * 60_000);
      if (!(c.acceptExit ?? [0]).includes(run.exitCode) || c.failOnStderr?.test(run.stderr)) {
        result.status = 'failed';
        result.error = `exit ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-6).join('\n')}`;
        break;
      }
      if (c.warmup && r === 0) continue;
      result.runs.push({ wallMs: run.wallMs, maxRssKiB: run.maxRssKiB, exitCode: run.exitCode });
    }
    if (result.status === 'ok' && result.runs.length) {
      result.wallMs = median(result.runs.map((r) => r.wallMs));
      const rss = result.runs.map((r) => r.maxRssKiB).filter((x): x is number => x !== null);
      result.maxRssMiB = rss.length ? Math.round((Math.max(...rss) / 1024) * 10) / 10 : null;
    }
    results.push(result);
  }

  for (const c of selected) {
    const res = results.find((r) => r.name === c.name)!;
    for (const t of c.targets ?? []) {
      let actual: number | null = null;
      let label: string;
      if (t.metric === 'rss') {
        label = `peak RSS ≤ ${t.max} MiB`;
        actual = res.maxRssMiB;
      } else if (t.relativeTo) {
        label = `wall ≤ ${t.max}× ${t.relativeTo}`;
        const other = results.find((r) => r.name === t.relativeTo);
        if (res.wallMs !== null && other?.wallMs) actual = Math.round((res.wallMs / other.wallMs) * 1000) / 1000;
      } else {
        label = `wall ≤ ${t.max} s`;
        actual = res.wallMs === null ? null : res.wallMs / 1000;
      }
      res.targets.push({ label, actual, max: t.max, pass: actual === null ? null : actual <= t.max });
    }
  }
  return {
    size,
    seed,
    runs,
    node: process.version,
    timeTool: existsSync(GNU_TIME) ? GNU_TIME : null,
    data: [...data.values()],
    cases: results,
  };
}

/** Renders a report as a plain-text table. */
export function renderBenchTable(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `llavakit bench — size ${report.size}, seed ${report.seed}, median of ${report.runs} run(s), node ${report.node}`,
  );
  for (const d of report.data) {
    lines.push(
      `  data ${d.kind}: ${d.records} records, ${(d.bytes / 1e6).toFixed(1)} MB${d.cached ? ' (cached)' : `, generated in ${(d.ms / 1000).toFixed(1)} s`}${d.images ? `; images ${d.images.written} written, ${d.images.missing} missing` : ''}`,
    );
  }
  const rows = [['case', 'status', 'wall s', 'peak RSS MiB', 'targets']];
  for (const c of report.cases) {
    const targets = c.targets
      .map(
        (t) =>
          `${t.pass === null ? '?' : t.pass ? 'PASS' : 'FAIL'} ${t.label}${t.actual === null ? '' : ` (${t.actual})`}`,
      )
      .join('; ');
    rows.push([
      c.name,
      c.status,
      c.wallMs === null ? '-' : (c.wallMs / 1000).toFixed(2),
      c.maxRssMiB === null ? '-' : String(c.maxRssMiB),
      targets || '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.slice(0, rows.length).map((r) => (i === 4 ? 0 : r[i]!.length))),
  );
  for (const r of rows) lines.push(r.map((cell, i) => (i === 4 ? cell : cell.padEnd(widths[i]!))).join('  '));
  for (const c of report.cases)
    if (c.status === 'failed') lines.push(`  ${c.name} failed: ${c.error?.replace(/\n/g, '\n    ')}`);
    else if (c.status === 'skipped') lines.push(`  ${c.name} skipped: ${c.error}`);
  return lines.join('\n');
}

/** Python baseline: `json.load` + ShareGPT mapping + `json.dump(ensure_ascii=False)`. */
export const PYTHON_BASELINE = `import json
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    data = json.load(f)
out = []
for rec in data:
    conv = [{"from": t["from"], "value": t["value"]} for t in rec["conversations"]]
    item = {"conversations": conv}
    if "image" in rec:
        img = rec["image"]
        if isinstance(img, list):
            item["images"] = img
        else:
            n = sum(t["value"].count("<image>") for t in conv)
            item["images"] = [img] * max(n, 1)
    out.append(item)
with open(dst, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False)
`;

/**
 * Python baseline with orjson (the fastest JSON library Python users reach for): `orjson.loads` of the whole file,
 * the same ShareGPT mapping, `orjson.dumps` (UTF-8, no ASCII escaping).
 */
export const PYTHON_ORJSON = `import sys

import orjson

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    data = orjson.loads(f.read())
out = []
for rec in data:
    conv = [{"from": t["from"], "value": t["value"]} for t in rec["conversations"]]
    item = {"conversations": conv}
    if "image" in rec:
        img = rec["image"]
        if isinstance(img, list):
            item["images"] = img
        else:
            n = sum(t["value"].count("<image>") for t in conv)
            item["images"] = [img] * max(n, 1)
    out.append(item)
with open(dst, "wb") as f:
    f.write(orjson.dumps(out))
`;

/** Node whole-file baseline: `JSON.parse(readFileSync)` + map + `JSON.stringify` + `writeFileSync`. */
export const NODE_BASELINE = `import { readFileSync, writeFileSync } from 'node:fs';

const [src, dst] = process.argv.slice(2);
const data = JSON.parse(readFileSync(src, 'utf8'));
const out = data.map((rec) => {
  const conversations = rec.conversations.map((t) => ({ from: t.from, value: t.value }));
  const item = { conversations };
  if ('image' in rec) {
    if (Array.isArray(rec.image)) item.images = rec.image;
    else {
      let n = 0;
      for (const t of conversations) n += t.value.split('<image>').length - 1;
      item.images = Array(Math.max(n, 1)).fill(rec.image);
    }
  }
  return item;
});
writeFileSync(dst, JSON.stringify(out));
`;
