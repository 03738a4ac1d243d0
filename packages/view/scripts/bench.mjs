// Measures `llava view` on any input llavakit reads (JSON, JSONL, Parquet files and folders), at full size: time to
// the first page (index build + first /api/rows), N later pages (p50 / p95 / max), record views, the images of the
// records shown, filters, stats and a search, and the peak RSS of the viewer process (a child process, so this
// script's own HTTP client does not count). Not a test: numbers for the README. Run after the build:
//
//   node packages/view/scripts/bench.mjs [INPUT…] [--images SPEC]… [--pages 40] [--records 20] [--no-tokens]
//     [--no-baseline] [--json]
//
// INPUT defaults to /work/.data-shared/llava_v1_5_mix665k.json (made by `node tools/datagen/dist/cli.js mix665k`).
// `--images` is passed to the viewer as image sources (the image audit then runs while indexing). The child reports
// `process.memoryUsage()` after the index, after the pages and at the end (`--json` prints everything). The baseline
// (one plain read of every record by llavakit's readers) runs after the viewer has exited: a forked child's peak RSS
// starts at its parent's RSS at the fork.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const CHILD = '--child';

if (process.argv[2] === CHILD) await child(JSON.parse(process.argv[3]));
else await parent();

/** The viewer process: start the viewer, say its URL, answer `memory` and `stop` messages. */
async function child({ inputs, images, countTokens }) {
  const { startViewer } = await import('../dist/index.js');
  const started = performance.now();
  const cpu = process.cpuUsage();
  const viewer = await startViewer({ inputs, images, countTokens });
  const indexMs = performance.now() - started;
  const indexCpu = process.cpuUsage(cpu);
  const memory = (label) => ({ label, ...process.memoryUsage(), maxRSS: process.resourceUsage().maxRSS * 1024 });
  process.send({
    type: 'ready',
    url: viewer.url,
    indexMs,
    indexCpuMs: (indexCpu.user + indexCpu.system) / 1000,
    count: viewer.index.count,
    files: viewer.index.files.length,
    formats: [...new Set(viewer.index.files.map((f) => f.format))],
    memory: memory('after index'),
  });
  process.on('message', async (m) => {
    if (m.type === 'memory') process.send({ type: 'memory', memory: memory(m.label) });
    else if (m.type === 'tokens') {
      const t = performance.now();
      await viewer.tokensCounted;
      process.send({ type: 'tokens', ms: performance.now() - t, sinceStart: performance.now() - started });
    } else if (m.type === 'stop') {
      const last = memory('end');
      await viewer.close();
      process.send({ type: 'stopped', memory: last, maxRSS: process.resourceUsage().maxRSS * 1024 });
      process.disconnect();
    }
  });
}

async function parent() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      images: { type: 'string', multiple: true, default: [] },
      pages: { type: 'string', default: '40' },
      records: { type: 'string', default: '20' },
      'no-tokens': { type: 'boolean', default: false },
      'no-baseline': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const inputs = positionals.length > 0 ? positionals : ['/work/.data-shared/llava_v1_5_mix665k.json'];
  const say = values.json ? () => {} : (line) => console.log(line);
  const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const report = { inputs, images: values.images, steps: [], memory: [] };

  const started = performance.now();
  const viewerProcess = fork(
    fileURLToPath(import.meta.url),
    [CHILD, JSON.stringify({ inputs, images: values.images, countTokens: !values['no-tokens'] })],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const messages = [];
  const waiters = [];
  viewerProcess.on('message', (m) => {
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else messages.push(m);
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const at = messages.findIndex((m) => m.type === type);
      if (at >= 0) return resolve(messages.splice(at, 1)[0]);
      waiters.push({ type, resolve });
      viewerProcess.once('exit', (code) => reject(new Error(`the viewer exited (${code}) before "${type}"`)));
    });
  const ready = await next('ready');
  report.memory.push(ready.memory);
  const token = new URL(ready.url).searchParams.get('token');
  const port = Number(new URL(ready.url).port);
  const get = (path) => fetchJson(port, token, path);
  const timed = async (label, path, kind = 'other') => {
    const t0 = performance.now();
    const r = await get(path);
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${r.body.toString().slice(0, 300)}`);
    report.steps.push({ label, path, kind, ms, bytes: r.body.length });
    return { ms, body: r.type.startsWith('application/json') ? JSON.parse(r.body.toString()) : r.body };
  };

  const first = await timed('first page', '/api/rows?page=1', 'first');
  report.toFirstPageMs = performance.now() - started;
  report.indexMs = ready.indexMs;
  report.indexCpuMs = ready.indexCpuMs;
  report.records = ready.count;
  say(`inputs: ${inputs.join(' ')} (${ready.files} files: ${ready.formats.join(', ')}; ${ready.count} records)`);
  if (values.images.length > 0) say(`image sources: ${values.images.join(' ')} (audited while indexing)`);
  say(`index build (in the viewer process)      ${fixed(ready.indexMs, 0)} ms  (CPU ${fixed(ready.indexCpuMs, 0)} ms)`);
  say(`time to first page (process start → page) ${fixed(report.toFirstPageMs, 0)} ms`);

  // later pages: spread over the whole table (a fixed pseudo-random walk, the same every run), then neighbours
  const pages = Math.max(1, Math.ceil(ready.count / first.body.size));
  const wanted = Number(values.pages);
  const pageList = [];
  let seed = 12345;
  for (let i = 0; i < wanted; i++) {
    if (i % 4 === 3) pageList.push(Math.min(pages, pageList[i - 1] + 1));
    else {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      pageList.push(1 + (seed % pages));
    }
  }
  const shown = [];
  for (const p of pageList) {
    const r = await timed(`page ${p}`, `/api/rows?page=${p}`, 'page');
    shown.push(...r.body.rows);
  }
  report.memory.push((await ask(viewerProcess, next, 'memory', 'after pages')).memory);

  // record views of rows shown above, and the images they have
  const withImages = shown.filter((row) => row.images > 0);
  const picked = [];
  for (let i = 0; i < Number(values.records) && shown.length > 0; i++) {
    const pool = withImages.length > 0 && i % 2 === 0 ? withImages : shown;
    picked.push(pool[(i * 7919) % pool.length].n);
  }
  let imagesServed = 0;
  for (const n of picked) {
    const view = await timed(`record ${n}`, `/api/record?n=${n}`, 'record');
    for (const image of view.body.images) {
      if (image.status !== 'found') continue;
      const img = await timed(`image ${n}/${image.slot}`, `/api/image?n=${n}&slot=${image.slot}`, 'image');
      imagesServed += img.body.length;
    }
  }
  report.imagesServedBytes = imagesServed;
  report.memory.push((await ask(viewerProcess, next, 'memory', 'after records and images')).memory);

  const sources = (await get('/api/meta')).body.toString();
  const meta = JSON.parse(sources);
  const source = meta.sources.find((s) => s !== 'text-only') ?? meta.sources[0];
  await timed(`filter source=${source}, page 1`, `/api/rows?source=${encodeURIComponent(source)}&page=1`, 'filter');
  await timed(`filter source=${source}, page 50`, `/api/rows?source=${encodeURIComponent(source)}&page=50`, 'filter');
  await timed('filter rule=any, page 1', '/api/rows?rule=any&page=1', 'filter');
  await timed('stats (every record)', '/api/stats', 'stats');
  const search = await timed('search "skateboard" (1.5 s budget)', '/api/search?q=skateboard', 'search');
  report.search = { found: search.body.matches.length, scanned: search.body.scanned, done: search.body.done };

  if (!values['no-tokens']) {
    const tokens = await ask(viewerProcess, next, 'tokens');
    report.tokensMs = tokens.sinceStart;
    for (const p of pageList.slice(0, 10)) await timed(`page ${p} (tokens done)`, `/api/rows?page=${p}`, 'page');
    await timed('filter minTokens=500 (tokens done)', '/api/rows?minTokens=500&page=3', 'filter');
  }
  viewerProcess.send({ type: 'stop' });
  const stopped = await next('stopped');
  report.memory.push(stopped.memory);
  report.maxRSS = stopped.maxRSS;
  await once(viewerProcess, 'exit').catch(() => {});

  // baseline, in the same run but after the viewer (a child's peak RSS starts at its parent's RSS when it is
  // forked): one plain read of every record, what any full read of the inputs costs
  if (!values['no-baseline']) {
    const t = performance.now();
    const records = await readAll(inputs);
    report.baselineMs = performance.now() - t;
    say(`baseline: one plain read of every record  ${fixed(report.baselineMs, 0)} ms  (${records} records)`);
    say(`time to first page / baseline             ${(report.toFirstPageMs / report.baselineMs).toFixed(2)}×`);
  }

  const pageTimes = report.steps.filter((s) => s.kind === 'page').map((s) => s.ms);
  const recordTimes = report.steps.filter((s) => s.kind === 'record').map((s) => s.ms);
  const imageTimes = report.steps.filter((s) => s.kind === 'image').map((s) => s.ms);
  report.pages = stats(pageTimes);
  report.recordViews = stats(recordTimes);
  report.imageRequests = stats(imageTimes);
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const line = (label, s) =>
    s.n === 0
      ? say(`${label.padEnd(42)} none`)
      : say(
          `${label.padEnd(42)} p50 ${fixed(s.p50, 1)} ms  p95 ${fixed(s.p95, 1)} ms  max ${fixed(s.max, 1)} ms  (${s.n})`,
        );
  line('later pages', report.pages);
  line('record views', report.recordViews);
  line(`images (${mib(imagesServed)} served)`, report.imageRequests);
  for (const s of report.steps.filter((x) => ['filter', 'stats', 'search'].includes(x.kind)))
    say(`${s.label.padEnd(42)} ${fixed(s.ms, 1)} ms`);
  say(`  search found ${report.search.found}, scanned ${report.search.scanned} records, done=${report.search.done}`);
  if (report.tokensMs !== undefined)
    say(`every token counted                       ${fixed(report.tokensMs / 1000, 1)} s after start`);
  for (const m of report.memory)
    say(
      `memory ${m.label.padEnd(26)} rss ${mib(m.rss)}  heap ${mib(m.heapUsed)}  external ${mib(m.external)}  arrayBuffers ${mib(m.arrayBuffers)}`,
    );
  say(`peak RSS of the viewer process            ${mib(report.maxRSS)}`);
}

function ask(viewerProcess, next, type, label) {
  viewerProcess.send({ type, label });
  return next(type);
}

function fixed(n, digits) {
  return n.toFixed(digits).padStart(8);
}

function stats(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return sorted.length === 0
    ? { n: 0 }
    : { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}

function fetchJson(port, token, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { 'x-llava-token': token } });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, type: res.headers['content-type'] ?? '', body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The baseline: every record read once by llavakit's own readers (JSON: the streaming reader; Parquet: row groups). */
async function readAll(inputs) {
  const { readRecordBatches } = await import('@llavakit/reader');
  const { openParquetFile, parquetFilesOf } = await import('@llavakit/format-parquet');
  const { isParquetInput } = await import('../dist/parquet.js');
  let records = 0;
  for (const input of inputs) {
    if (await isParquetInput(input)) {
      for (const file of await parquetFilesOf(input)) {
        const parquet = await openParquetFile(file);
        for (let g = 0; g < parquet.groups.length; g++) {
          const slices = await parquet.slices(g); // a huge row group in slices of pages, as the viewer reads it
          for (const [s, start] of slices.entries()) {
            const end = slices[s + 1] ?? parquet.groups[g];
            for (const row of await parquet.readRows(g, start, end)) {
              parquet.toRecord(row, records);
              records++;
            }
          }
        }
      }
    } else for await (const batch of readRecordBatches(input)) records += batch.length;
  }
  return records;
}
