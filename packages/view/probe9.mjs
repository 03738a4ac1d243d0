import { createDefaultMetrics, DatasetIndex } from './dist/index.js';

const mem = (l) => {
  const m = process.memoryUsage();
  console.log(
    l.padEnd(20),
    'rss',
    (m.rss / 2 ** 20).toFixed(0),
    'ab',
    (m.arrayBuffers / 2 ** 20).toFixed(0),
    'maxrss',
    (process.resourceUsage().maxRSS / 1024).toFixed(0),
  );
};
const metrics = createDefaultMetrics();
const index = await DatasetIndex.build([process.argv[2]], { metrics });
mem('after build');
let busy = false;
const counting = index.countTokens(metrics, undefined, () => busy);
for (let k = 0; k < 12; k++) {
  busy = true;
  const n = (k * 3571) % 10000;
  await index.readParquet(n);
  busy = false;
  await new Promise((r) => setTimeout(r, 50));
  mem(`read ${n}`);
}
await counting;
mem('after tokens');
await index.close();
