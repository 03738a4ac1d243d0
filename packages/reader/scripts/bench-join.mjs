#!/usr/bin/env node
// joinMetadata at CC3M-595K scale: writes chat + metadata files (595,375 records; metadata in a shuffled-by-blocks
// order so both the window path and the random positioned-read path are used), joins them, reports time and peak RSS.
// Usage: pnpm --filter @llavakit/reader build && node scripts/bench-join.mjs [/tmp/dir] [--records 595375]
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? '/tmp/llavakit-join-bench';
const n = Number(args[args.indexOf('--records') + 1]) || 595375;
mkdirSync(dir, { recursive: true });
const chatPath = join(dir, 'chat.json');
const metaPath = join(dir, 'metadata.json');

if (!process.env.JOIN_BENCH_CHILD) {
  if (!existsSync(metaPath)) await generate();
  // measure the join alone, in a fresh process
  process.stdout.write(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      env: { ...process.env, JOIN_BENCH_CHILD: '1' },
    }),
  );
  process.exit(0);
}

async function writeArray(path, count, make) {
  const s = createWriteStream(path);
  const write = (t) => (s.write(t) ? undefined : new Promise((r) => s.once('drain', r)));
  await write('[');
  for (let i = 0; i < count; i++) await write(`${i ? ',' : ''}\n  ${JSON.stringify(make(i))}`);
  await write('\n]\n');
  await new Promise((r) => s.end(r));
}
const id = (i) => `GCC_train_${String(i * 7).padStart(9, '0')}`;
const caption = (i) => `caption number ${i} of a photo of an object , with tokenised punctuation .`;
async function generate() {
  await writeArray(chatPath, n, (i) => ({
    id: id(i),
    image: `${id(i)}.jpg`,
    conversations: [
      { from: 'human', value: 'Provide a brief description of the given image.\n<image>' },
      { from: 'gpt', value: caption(i) },
    ],
  }));
  // metadata: blocks of 1000 in reverse block order; ~1% of images missing
  const order = [];
  for (let b = Math.ceil(n / 1000) - 1; b >= 0; b--)
    for (let i = b * 1000; i < Math.min(n, b * 1000 + 1000); i++) if (i % 100 !== 5) order.push(i);
  await writeArray(metaPath, order.length, (k) => {
    const i = order[k];
    return {
      id: id(i),
      image: `${id(i)}.jpg`,
      caption: caption(i),
      blip_caption: `blip ${i}`,
      url: `http://example.invalid/${i}.jpg`,
    };
  });
}

const { readRecords, joinMetadata } = await import('../dist/index.js');
const t0 = performance.now();
let joined = 0;
let missing = 0;
let rows = 0;
for await (const { meta } of joinMetadata(readRecords(chatPath), metaPath, { onDiagnostic: () => missing++ })) {
  rows++;
  if (meta) joined++;
}
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    rows,
    joined,
    missing,
    seconds: +(ms / 1000).toFixed(2),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
