#!/usr/bin/env node
// Quick generator of a LLaVA-Instruct-150K-shaped file for the reader benchmark (not the project's datagen).
// Usage: node scripts/gen-instruct.mjs <out.json> [--records 157712] [--compact] [--jsonl]
import { createWriteStream } from 'node:fs';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--')) ?? '/tmp/llava_instruct_150k.bench.json';
const records = Number(args[args.indexOf('--records') + 1]) || 157712;
const compact = args.includes('--compact');
const jsonl = args.includes('--jsonl');

let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const words = [
  'the',
  'a',
  'man',
  'bus',
  'street',
  'white',
  'red',
  'kite',
  'plaza',
  'people',
  'walking',
  'frisbee',
  'image',
  'shows',
  'several',
  'cat',
  'positioned',
  'table',
  'near',
  'window',
  'café',
  'naïve',
  '"quoted"',
  'back\\slash',
  '—',
  '🙂',
];
const sentence = (n) => {
  const w = [];
  for (let i = 0; i < n; i++) w.push(words[Math.floor(rand() * words.length)]);
  return `${w.join(' ')}.`;
};
const para = (n) => Array.from({ length: n }, () => sentence(10 + Math.floor(rand() * 16))).join(' ');

const stream = createWriteStream(out);
const write = (s) => (stream.write(s) ? Promise.resolve() : new Promise((r) => stream.once('drain', r)));
if (!jsonl) await write('[');
for (let i = 0; i < records; i++) {
  const id = String(Math.floor(rand() * 581929)).padStart(12, '0');
  const turns = 2 * (1 + Math.floor(rand() * 3));
  const conversations = [];
  for (let t = 0; t < turns; t++) {
    const human = t % 2 === 0;
    let value = human ? sentence(6 + Math.floor(rand() * 8)).replace(/\.$/, '?') : para(2 + Math.floor(rand() * 4));
    if (t === 0) value = rand() < 0.5 ? `<image>\n${value}` : `${value}\n<image>`;
    if (!human && rand() < 0.3) value += `\n\n${para(1)}`;
    conversations.push({ from: human ? 'human' : 'gpt', value });
  }
  const rec = { id, image: `${id}.jpg`, conversations };
  if (jsonl) await write(`${JSON.stringify(rec)}\n`);
  else {
    const text = compact ? JSON.stringify(rec) : JSON.stringify(rec, null, 4).replaceAll('\n', '\n    ');
    await write(`${i ? ',' : ''}${compact ? '' : '\n    '}${text}`);
  }
}
if (!jsonl) await write(compact ? ']' : '\n]');
stream.end();
await new Promise((r) => stream.on('finish', r));
console.log(`${out}: ${records} records`);
