import v8 from 'node:v8';
import { createDefaultMetrics, DatasetIndex } from './dist/index.js';

const input = process.argv[2];
const mem = (l) => {
  const m = process.memoryUsage();
  console.log(
    l.padEnd(20),
    'rss',
    (m.rss / 2 ** 20).toFixed(0),
    'heap',
    (m.heapUsed / 2 ** 20).toFixed(0),
    'ab',
    (m.arrayBuffers / 2 ** 20).toFixed(0),
    'maxrss',
    (process.resourceUsage().maxRSS / 1024).toFixed(0),
  );
};
mem('start');
const t = performance.now();
const metrics = createDefaultMetrics();
const index = await DatasetIndex.build([input], { metrics });
console.log('build ms', (performance.now() - t).toFixed(0));
mem('after build');
global.gc();
mem('after gc');
if (process.argv[3]) v8.writeHeapSnapshot(process.argv[3]);
await index.close();
