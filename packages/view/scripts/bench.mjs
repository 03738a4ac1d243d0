// Measures `llava view` at full size: time to the first page (index build + first /api/rows), later pages, a record,
// a filter and a search, and peak RSS of the process. Run after the build:
//   node packages/view/scripts/bench.mjs [/work/.data-shared/llava_v1_5_mix665k.json]
// (the file is made by `node tools/datagen/dist/cli.js mix665k -o …`). Not a test: numbers for the README.
import { request } from 'node:http';
import { readRecordBatches } from '@llavakit/reader';
import { startViewer } from '../dist/index.js';

const file = process.argv[2] ?? '/work/.data-shared/llava_v1_5_mix665k.json';
const mib = (kib) => (kib / 1024).toFixed(0);

function get(port, token, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { 'x-llava-token': token } });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function timed(label, port, token, path) {
  const t0 = performance.now();
  const r = await get(port, token, path);
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms`);
  return { ms, body: r.body };
}

// baseline, in the same run: one streaming pass of the reader alone (what any full read of the file costs)
const t = performance.now();
let records = 0;
for await (const batch of readRecordBatches(file)) records += batch.length;
const baseline = performance.now() - t;
console.log(`baseline: reader pass alone          ${baseline.toFixed(0).padStart(8)} ms  (${records} records)`);

const cpu = process.cpuUsage();
const started = performance.now();
const viewer = await startViewer({ inputs: [file] });
const indexed = performance.now() - started;
const indexCpu = process.cpuUsage(cpu);
console.log(
  `index build CPU (user + system)      ${((indexCpu.user + indexCpu.system) / 1000).toFixed(0).padStart(8)} ms`,
);
const token = new URL(viewer.url).searchParams.get('token');
const first = await timed('first page (/api/rows?page=1)', viewer.port, token, '/api/rows?page=1');
const toFirst = performance.now() - started;
console.log(
  `index build                         ${indexed.toFixed(0).padStart(8)} ms  (${viewer.index.count} records)`,
);
console.log(
  `time to first page (index + page)   ${toFirst.toFixed(0).padStart(8)} ms  (${(toFirst / baseline).toFixed(2)}× the reader pass)`,
);
const pages = Math.ceil(viewer.index.count / first.body.size);
const later = [];
for (const p of [2, 3, Math.floor(pages / 2), pages - 1, pages, 4321, 10000]) {
  later.push((await timed(`page ${p} (tokens counting)`, viewer.port, token, `/api/rows?page=${p}`)).ms);
}
await timed('record view (n=123456)', viewer.port, token, '/api/record?n=123456');
await timed('filter source=gqa, page 1', viewer.port, token, '/api/rows?source=gqa&page=1');
await timed('filter source=gqa, page 500', viewer.port, token, '/api/rows?source=gqa&page=500');
await timed('filter rule=any, page 1', viewer.port, token, '/api/rows?rule=any&page=1');
await timed('stats (all records)', viewer.port, token, '/api/stats');
const search = await timed('search "skateboard" (1.5 s budget)', viewer.port, token, '/api/search?q=skateboard');
console.log(`  found ${search.body.matches.length}, scanned ${search.body.scanned} records, done=${search.body.done}`);
const countStart = performance.now();
await viewer.tokensCounted;
console.log(
  `background token count               ${((performance.now() - started) / 1000).toFixed(1)} s after start (${((performance.now() - countStart) / 1000).toFixed(1)} s after the pages above)`,
);
for (const p of [2, Math.floor(pages / 2), pages])
  later.push((await timed(`page ${p} (tokens done)`, viewer.port, token, `/api/rows?page=${p}`)).ms);
await timed('filter minTokens=500 (tokens done)', viewer.port, token, '/api/rows?minTokens=500&page=3');
await timed('stats (tokens done)', viewer.port, token, '/api/stats');
await viewer.close();
const rss = process.resourceUsage().maxRSS;
console.log(
  `later pages: max ${Math.max(...later).toFixed(1)} ms, median ${later.sort((a, b) => a - b)[later.length >> 1].toFixed(1)} ms`,
);
console.log(`peak RSS                            ${mib(rss).padStart(8)} MiB`);
