/**
 * The ceiling of a worker-thread conversion in Node on this machine (issue 17), as a bench baseline: what a
 * hand-written pipeline with no checks, no diagnostics and no places reaches.
 *
 *   node node-workers.mjs <in.json> <out.json> [workers] [parse|copy]
 *
 * The main thread splits a top-level JSON array of objects into element byte ranges (strings skipped with `indexOf` of
 * the quote and the backslash run before it, as llavakit's scanner does; nothing parsed) and sends batches of about 1 MiB (transferred, not copied) to the workers; `parse`: each worker
 * decodes the UTF-8, `JSON.parse`s each element, maps it to ShareGPT as the Node baseline does and `JSON.stringify`s
 * it; the main thread writes the batches in input order. The output is byte-identical to `node-baseline.mjs`.
 * `copy`: no workers — the element bytes are written through unchanged (`[a,b,…]`, one write per chunk), the floor of
 * a conversion that passes through bytes needing no change.
 */
export const NODE_WORKERS_BASELINE = `import { closeSync, createWriteStream, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const [src, dst, workersArg, mode = 'parse'] = process.argv.slice(2);
const N = Math.max(1, Number(workersArg ?? availableParallelism()));
const WORKER = \`
const { parentPort } = require('node:worker_threads');
const decoder = new TextDecoder();
parentPort.on('message', ({ id, buf, starts, ends }) => {
  const bytes = new Uint8Array(buf);
  const parts = [];
  for (let j = 0; j < ends.length; j++) {
    const rec = JSON.parse(decoder.decode(bytes.subarray(starts[j], ends[j])));
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
    parts.push(JSON.stringify(item));
  }
  parentPort.postMessage({ id, out: parts.join(',') });
});\`;

const out = createWriteStream(dst);
const write = (text) => (out.write(text) ? undefined : new Promise((r) => out.once('drain', r)));
const workers = mode === 'parse' ? Array.from({ length: N }, () => new Worker(WORKER, { eval: true })) : [];
const done = new Map();
let sent = 0;
let written = 0;
let first = true;
let wake;
let failed;
for (const w of workers) {
  w.on('message', ({ id, out: text }) => {
    done.set(id, text);
    wake?.();
  });
  w.on('error', (e) => {
    failed = e;
    wake?.();
  });
}
async function drain(limit) {
  for (;;) {
    if (failed) throw failed;
    while (done.has(written)) {
      const text = done.get(written);
      done.delete(written);
      written++;
      await write((first ? '' : ',') + text);
      first = false;
    }
    if (sent - written <= limit) return;
    await new Promise((r) => (wake = r));
  }
}
await write('[');
const fd = openSync(src, 'r');
const CHUNK = 1 << 20;
const COMMA = Buffer.from(',');
let carry = Buffer.alloc(0);
let depth = 0;
let inString = false;
let escaped = false;
let elemStart = -1;
let resume = 0;
for (;;) {
  const chunk = Buffer.allocUnsafe(CHUNK);
  const got = readSync(fd, chunk, 0, CHUNK, null);
  const buf = Buffer.concat([carry, chunk.subarray(0, got)]);
  const starts = [];
  const ends = [];
  const n = buf.length;
  for (let i = resume; i < n; i++) {
    if (inString) {
      // the rest of a string: to its closing quote (a quote after an odd run of backslashes is escaped)
      if (escaped) {
        escaped = false;
        continue;
      }
      let q = i;
      for (;;) {
        q = buf.indexOf(34, q);
        if (q === -1) break;
        let k = q - 1;
        while (k >= i && buf[k] === 92) k--;
        if (((q - 1 - k) & 1) === 0) break;
        q++;
      }
      if (q === -1) {
        let k = n - 1;
        while (k >= i && buf[k] === 92) k--;
        escaped = ((n - 1 - k) & 1) === 1;
        i = n;
        break;
      }
      inString = false;
      i = q;
      continue;
    }
    const c = buf[i];
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth === 2) elemStart = i;
    } else if (c === 125 || c === 93) {
      if (depth === 2) {
        starts.push(elemStart);
        ends.push(i + 1);
        elemStart = -1;
      }
      depth--;
    }
  }
  if (ends.length > 0) {
    const base = starts[0];
    if (mode === 'copy') {
      const parts = [];
      for (let j = 0; j < ends.length; j++) {
        if (!first) parts.push(COMMA);
        first = false;
        parts.push(buf.subarray(starts[j], ends[j]));
      }
      await write(Buffer.concat(parts));
    } else {
      await drain(2 * N - 1);
      const slice = new Uint8Array(buf.subarray(base, ends[ends.length - 1]));
      workers[sent % N].postMessage(
        { id: sent, buf: slice.buffer, starts: starts.map((s) => s - base), ends: ends.map((e) => e - base) },
        [slice.buffer],
      );
      sent++;
    }
  }
  const keep = elemStart >= 0 ? elemStart : buf.length;
  carry = buf.subarray(keep);
  resume = buf.length - keep;
  if (elemStart >= 0) elemStart = 0;
  if (got === 0) break;
}
closeSync(fd);
await drain(0);
out.end(']');
await new Promise((r) => out.on('finish', r));
await Promise.all(workers.map((w) => w.terminate()));
`;
