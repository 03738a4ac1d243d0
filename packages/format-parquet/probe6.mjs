import { openParquetFile } from './dist/index.js';

const mem = (l) => {
  const m = process.memoryUsage();
  console.log(
    l.padEnd(16),
    'rss',
    (m.rss / 2 ** 20).toFixed(0),
    'ab',
    (m.arrayBuffers / 2 ** 20).toFixed(0),
    'maxrss',
    (process.resourceUsage().maxRSS / 1024).toFixed(0),
  );
};
const p = await openParquetFile(process.argv[2]);
const slices = await p.slices(0);
console.log('slices', slices.length, slices.slice(0, 4));
mem('start');
let n = 0;
const t = performance.now();
for (let i = 0; i < slices.length; i++) {
  const rows = await p.readRows(0, slices[i], slices[i + 1] ?? p.groups[0]);
  if (i === 0) console.log(rows[0].id, rows[0].image.bytes.length, rows[rows.length - 1].id);
  n += rows.length;
  if (i % 3 === 0) mem(`slice ${i}`);
}
console.log('rows', n, 'ms', (performance.now() - t).toFixed(0));
const one = await p.readRows(0, 5000, 5003);
console.log(one.map((r) => r.id));
mem('end');
