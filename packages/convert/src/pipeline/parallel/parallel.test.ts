import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '@llavakit/diagnostics';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llavaRecordArbitrary } from '../../formats/__fixtures__/harness.js';
import { createBuiltinRegistry } from '../../formats/index.js';
import { loadFormatPlugins } from '../../plugins/load.js';
import { type ConvertOptions, type ConvertSummary, convert } from '../convert.js';
import { workerScript } from './pool.js';

/**
 * The parallel pipeline against the in-process one: for every built-in format (as source and as target), a plugin
 * format, shards, stops and fatal errors, `parallel: { workers: 2 }` must give the same output bytes, the same rejects
 * file, the same diagnostics in the same order and the same summary as no workers. Small batches force many of them
 * (and records finishing out of order across the two workers). The workers run the built `dist/parallel/worker.js`.
 */
const built = workerScript() !== undefined;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llavakit-parallel-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Outcome {
  summary: Omit<ConvertSummary, 'durationMs' | 'output'>;
  output: string | undefined;
  rejects: string | undefined;
  notes: Diagnostic[];
  rejections: { file: string; index: number; diagnostics: readonly Diagnostic[] }[];
  fallbacks: string[];
}

let runs = 0;
async function run(
  options: Omit<ConvertOptions, 'output' | 'rejects' | 'registry'> & Partial<ConvertOptions>,
  workers: number,
  batchBytes = 2048,
): Promise<Outcome> {
  const case_ = join(dir, `run-${runs++}`);
  await mkdir(case_);
  const ext = options.container === 'jsonl' ? 'jsonl' : 'json';
  const output = join(case_, `out.${ext}`);
  const rejects = join(case_, 'rejects.jsonl');
  const notes: Diagnostic[] = [];
  const rejections: Outcome['rejections'] = [];
  const fallbacks: string[] = [];
  const {
    durationMs: _d,
    output: _o,
    ...summary
  } = await convert({
    registry: createBuiltinRegistry(),
    output,
    rejects,
    ...options,
    onDiagnostic: (d) => notes.push(d),
    onReject: (r) => rejections.push(r),
    ...(workers > 1
      ? { parallel: { workers, batchBytes, inFlightPerWorker: 2, onFallback: (reason) => fallbacks.push(reason) } }
      : {}),
  });
  const read = async (path: string) => (existsSync(path) ? readFile(path, 'utf8') : undefined);
  const outcome = { summary, output: await read(output), rejects: await read(rejects), notes, rejections, fallbacks };
  // no temporary file is left beside the outputs
  expect((await readdir(case_)).filter((f) => f.includes('llava-tmp'))).toEqual([]);
  return outcome;
}

/** Convert in one thread and with two workers; everything but the fall-back notes must be equal. */
async function same(options: Parameters<typeof run>[0], batchBytes?: number): Promise<Outcome> {
  const one = await run(options, 1);
  const two = await run(options, 2, batchBytes);
  expect(two.fallbacks).toEqual([]);
  expect({ ...two, fallbacks: [] }).toEqual({ ...one, fallbacks: [] });
  return two;
}

const records = fc.sample(llavaRecordArbitrary, { numRuns: 80, seed: 7 });

/** The turns of a plain record: a question (with `<image>` first when it has an image) and answers. */
function turns(i: number, image: boolean) {
  const out = [];
  for (let t = 0; t < 2 + (i % 3) * 2; t++) {
    const text = t % 2 === 0 ? `Question ${i}.${t} about "the" C:\\path?` : `Answer ${i}.${t}:\n- café\n- 🐱`;
    out.push({ from: t % 2 === 0 ? 'human' : 'gpt', value: t === 0 && image ? `<image>\n${text}` : text });
  }
  return out;
}
/** A pretty-printed JSON array of `n` plain records (over 1 MiB from ~2,500 on: several read chunks). */
function plainArray(n: number): string {
  const records = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: String(i), image: `${i}.jpg`, conversations: turns(i, true) }, null, 2),
  );
  return `[\n${records.join(',\n')}\n]\n`;
}

/** Records with problems of every kind the pipeline meets: broken JSON, invalid records, a non-object. */
function messyArray(): string {
  const parts = records.map((r) => JSON.stringify(r, null, 2));
  parts.splice(5, 0, '{"id": "broken", "conversations": [,]}');
  parts.splice(11, 0, '{"id": "no-turns", "image": "a.jpg"}');
  parts.splice(17, 0, '42');
  parts.splice(
    23,
    0,
    '{"id": "ünïcödé ✓ 😀", "conversations": [{"from": "human", "value": "héllo 😀"}, {"from": "gpt", "value": "ok"}]}',
  );
  return `[\n${parts.join(',\n')}\n]\n`;
}

// Each case starts worker threads (about 150 ms of CPU each): generous limits for a loaded CI machine.
describe.skipIf(!built)('convert with worker threads gives what one thread gives', { timeout: 60_000 }, () => {
  let messy: string;
  let messyLines: string;
  beforeAll(async () => {
    messy = join(dir, 'messy.json');
    await writeFile(messy, messyArray());
    messyLines = join(dir, 'messy.jsonl');
    await writeFile(
      messyLines,
      `${records.map((r) => JSON.stringify(r)).join('\n')}\n{"id": "cut", \n\n${JSON.stringify(records[0])}\n`,
    );
  });

  for (const [to, formatOptions, container] of [
    ['sharegpt', {}, 'json'],
    ['sharegpt', { layout: 'messages' }, 'jsonl'],
    ['openai', { meta: true }, 'jsonl'],
    ['messages', {}, 'jsonl'],
    ['swift', {}, 'json'],
    ['llava', {}, 'jsonl'],
  ] as const) {
    it(`llava → ${to} ${JSON.stringify(formatOptions)} (${container}): same bytes, rejects, diagnostics, summary`, async () => {
      const two = await same({ inputs: [messy], to, formatOptions, container });
      expect(two.summary.rejected).toBeGreaterThan(0);
      expect(two.summary.written).toBeGreaterThan(60);
    });
  }

  it('every built-in reader: the same records read back from each format', async () => {
    for (const [from, container] of [
      ['sharegpt', 'json'],
      ['openai', 'jsonl'],
      ['messages', 'jsonl'],
      ['swift', 'json'],
    ] as const) {
      const there = join(dir, `from-${from}.${container}`);
      await convert({ inputs: [messy], to: from, output: there, container, registry: createBuiltinRegistry() });
      await same({ inputs: [there], from, to: 'llava', container: 'jsonl' });
    }
  });

  it('JSON Lines input with a broken line and blank lines; several inputs into one output', async () => {
    await same({ inputs: [messyLines], to: 'sharegpt', container: 'json' });
    await same({ inputs: [messy, messyLines], to: 'messages', container: 'jsonl' });
  });

  it('a shard (keepRecord) reads, writes and rejects only its records', async () => {
    const two = await same({ inputs: [messy], to: 'sharegpt', keepRecord: (i) => i % 3 === 1 });
    expect(two.summary.read).toBe(Math.ceil((records.length + 4 - 1) / 3));
  });

  it('--validate (the record checker) runs in the workers', async () => {
    const { createRecordChecker } = await import('@llavakit/schema');
    const check = createRecordChecker();
    const one = await run({ inputs: [messy], to: 'sharegpt', check }, 1);
    const two = await convertWith({ inputs: [messy], to: 'sharegpt', check }, { check: 'record' });
    expect(two).toEqual({ ...one, fallbacks: [] });
  });

  it('--on-invalid fail stops at the same record, mid-batch, with nothing written', async () => {
    const two = await same({ inputs: [messy], to: 'sharegpt', onInvalid: 'fail' }, 64 * 1024);
    expect(two.summary).toMatchObject({ failed: true, written: 0, rejected: 1 });
    expect(two.output).toBeUndefined();
  });

  it('fatal input errors (invalid UTF-8 in a record, a cut-off file) end the run at the same place', async () => {
    const text = messyArray();
    const bad = Buffer.from(text);
    const at = bad.indexOf('"value"', Math.floor(bad.length / 2)) + 9;
    bad[at] = 0xff;
    const utf8 = join(dir, 'bad-utf8.json');
    await writeFile(utf8, bad);
    const u = await same({ inputs: [utf8], to: 'sharegpt' });
    expect(u.summary.fatal?.ruleId).toBe('encoding/invalid-utf8');
    const cut = join(dir, 'cut.json');
    await writeFile(cut, text.slice(0, Math.floor(text.length * 0.7)));
    const c = await same({ inputs: [cut], to: 'sharegpt' });
    expect(c.summary.fatal?.ruleId).toBe('json/truncated');
    // in a plain record (read in the main thread from the chunk, whose UTF-8 is checked once), in a chunk over 1 MiB
    const body = Buffer.from(plainArray(3000));
    const where = body.indexOf('Answer 2500.1');
    for (const [name, bytes] of [
      ['bad-plain-ff.json', [0xff]],
      ['bad-plain-cut.json', [0xe6, 0x97]], // a three-byte sequence cut after two
    ] as const) {
      const broken = Buffer.concat([body.subarray(0, where), Buffer.from(bytes), body.subarray(where)]);
      const file = join(dir, name);
      await writeFile(file, broken);
      const p = await same({ inputs: [file], to: 'sharegpt' });
      expect(p.summary.fatal?.ruleId).toBe('encoding/invalid-utf8');
    }
  });

  it('a plugin format runs in the workers, loaded from its resolved file', async () => {
    const plugin = join(dir, 'upper.mjs');
    await writeFile(
      plugin,
      `export default { specVersion: 1, name: 'upper', encode(record, context) {
        if (record.id === 'bad') return { ok: false, diagnostics: [{ ruleId: 'upper/bad', severity: 'error', message: 'no' }] };
        context.count('upper:records');
        if (context.index % 7 === 0) context.report({ ruleId: 'upper/note', severity: 'info', message: 'seventh ' + context.index });
        return { ok: true, value: { id: record.id, turns: record.conversations.map((t) => t.value.toUpperCase()) } };
      } };`,
    );
    const registry = createBuiltinRegistry();
    expect(await loadFormatPlugins(registry, [plugin])).toEqual([]);
    const one = await run({ inputs: [messy], to: 'upper', registry }, 1);
    const two = await run({ inputs: [messy], to: 'upper', registry }, 2);
    expect(two).toEqual(one);
    expect(two.summary.counts['upper:records']).toBeGreaterThan(60);
  });

  it('a plugin that cannot load in a worker: the run falls back to one thread, says so once, same output', async () => {
    const plugin = join(dir, 'main-only.mjs');
    await writeFile(
      plugin,
      `import { workerData } from 'node:worker_threads';
      // (the import probe runs in a thread too: only the conversion's workers, whose data names a separator, fail)
      if (workerData && workerData.separator) throw new Error('not in a worker');
      export default { specVersion: 1, name: 'main-only', encode: (r) => ({ ok: true, value: { id: r.id } }) };`,
    );
    const registry = createBuiltinRegistry();
    expect(await loadFormatPlugins(registry, [plugin])).toEqual([]);
    const one = await run({ inputs: [messy, messyLines], to: 'main-only', registry }, 1);
    const two = await run({ inputs: [messy, messyLines], to: 'main-only', registry }, 2);
    expect(two.fallbacks).toHaveLength(1);
    expect(two.fallbacks[0]).toMatch(/not in a worker/);
    expect({ ...two, fallbacks: [] }).toEqual(one);
  });

  it('a worker that dies (a plugin exits its thread) or throws outside the wall: run/worker-failed, nothing written', async () => {
    const crashes: [string, string][] = [
      ['exits', `if (!isMainThread && r.id === 'broken-later') process.exit(7);`],
      ['throws', `if (!isMainThread && r.id === 'broken-later') setTimeout(() => { throw new Error('boom'); });`],
    ];
    for (const [name, body] of crashes) {
      const plugin = join(dir, `${name}.mjs`);
      await writeFile(
        plugin,
        `import { isMainThread } from 'node:worker_threads';
        export default { specVersion: 1, name: '${name}', async encode(r) { ${body}
          await new Promise((resolve) => setTimeout(resolve, r.id === 'broken-later' ? 50 : 0));
          return { ok: true, value: { id: r.id } }; } };`,
      );
      const input = join(dir, `${name}.json`);
      const list = records.slice(0, 40).map((r, i) => ({ ...(r as object), id: i === 30 ? 'broken-later' : `r${i}` }));
      await writeFile(input, JSON.stringify(list, null, 1));
      const registry = createBuiltinRegistry();
      expect(await loadFormatPlugins(registry, [plugin])).toEqual([]);
      const case_ = join(dir, `crash-${name}`);
      await mkdir(case_);
      const output = join(case_, 'out.json');
      await writeFile(output, 'old');
      const summary = await convert({
        inputs: [input],
        to: name,
        output,
        registry,
        parallel: { workers: 2, batchBytes: 1024 },
      });
      expect(summary).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'run/worker-failed' } });
      expect(summary.fatal?.message).toMatch(name === 'exits' ? /exit code 7/ : /boom/);
      expect(await readFile(output, 'utf8')).toBe('old');
      expect(await readdir(case_)).toEqual(['out.json']);
    }
  });

  it('plain records (read from their bytes) among others: same bytes, counts, rejects, shards', async () => {
    // LLaVA-1.5's shapes: string and integer ids, a folder in the path, text-only records with a `model` key
    const plain = Array.from({ length: 120 }, (_, i) =>
      i % 5 === 4
        ? { id: `sg_${i}`, model: i % 2 ? '' : 'gpt-4', conversations: turns(i, false) }
        : {
            id: i % 3 ? String(i).padStart(12, '0') : i,
            image: `coco/train2017/${i}.jpg`,
            conversations: turns(i, true),
          },
    );
    const parts = [
      ...plain.map((r) => JSON.stringify(r, null, 2)),
      ...records.slice(0, 40).map((r) => JSON.stringify(r, null, 2)),
    ];
    // mixed in input order: every batch holds both kinds
    parts.sort((a, b) => ((a.length * 7919) % 13) - ((b.length * 7919) % 13));
    const input = join(dir, 'plain-mix.json');
    await writeFile(input, `[\n${parts.join(',\n')}\n]\n`);
    for (const [to, formatOptions, container] of [
      ['sharegpt', {}, 'json'],
      ['llava', {}, 'jsonl'],
      ['llava', { imageToken: 'keep' }, 'json'],
    ] as const) {
      const two = await same({ inputs: [input], to, formatOptions, container }, 4096);
      expect(two.summary.written).toBeGreaterThan(120);
      const shard = await same({ inputs: [input], to, formatOptions, container, keepRecord: (i) => i % 3 === 1 }, 4096);
      expect(shard.summary.read).toBe(Math.floor((parts.length - 2) / 3) + 1);
    }
    const sharegpt = await same({ inputs: [input], to: 'sharegpt', container: 'jsonl' }, 4096);
    expect(sharegpt.summary.counts['llava_meta:written']).toBeGreaterThan(40);
  });

  it('an input of several read chunks (elements across chunk ends, one larger than a chunk): same bytes', async () => {
    // Files are read 1 MiB at a time: the elements inside a chunk are copied into a batch together, the ones that
    // cross a chunk's end on their own. ~3.5 MiB, with plain and other records, broken ones, and a 1.5 MiB value.
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 3.5 * 1024 * 1024; i++) {
      const record =
        i % 50 === 3
          ? records[i % records.length]!
          : { id: String(i).padStart(12, '0'), image: `${i}.jpg`, conversations: turns(i, true) };
      parts.push(JSON.stringify(record, null, i % 2 === 0 ? 2 : undefined));
      size += parts.at(-1)!.length + 2;
      if (i % 97 === 50) parts.push('{"id": "broken", "conversations": [,]}');
      if (i === 1200) {
        const long = turns(i, true);
        long[1]!.value = 'x'.repeat(1.5 * 1024 * 1024);
        parts.push(JSON.stringify({ id: 'long', image: 'long.jpg', conversations: long }));
      }
    }
    const input = join(dir, 'chunks.json');
    await writeFile(input, `[\n${parts.join(',\n')}\n]\n`);
    for (const batchBytes of [2 * 1024 * 1024, 64 * 1024]) {
      const two = await same({ inputs: [input], to: 'sharegpt' }, batchBytes);
      expect(two.summary.read).toBe(parts.length);
    }
    const lines = join(dir, 'chunks.jsonl');
    await writeFile(
      lines,
      `${parts.map((p) => JSON.stringify(JSON.parse(p.startsWith('{"id": "broken"') ? '{}' : p))).join('\n')}\n`,
    );
    await same({ inputs: [lines], to: 'llava', container: 'jsonl' }, 64 * 1024);
    // Chunks of plain records only (answered in the main thread, no worker batch), whole and as a shard's part
    const only = join(dir, 'chunks-plain.json');
    await writeFile(only, plainArray(4000));
    expect((await same({ inputs: [only], to: 'sharegpt' }, 2 * 1024 * 1024)).summary.written).toBe(4000);
    const shard = await same({ inputs: [only], to: 'sharegpt', keepRecord: (i) => i % 3 === 1 }, 2 * 1024 * 1024);
    expect(shard.summary.written).toBe(1333);
  });

  it('any records, any batch size: the same bytes (property)', async () => {
    const element = fc.oneof(
      { weight: 8, arbitrary: llavaRecordArbitrary.map((r) => JSON.stringify(r)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('{"id": 1, "conversations": [}', 'null', '"text"', '{"conversations": []}'),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(element, { minLength: 0, maxLength: 40 }),
        fc.constantFrom('json', 'jsonl'),
        fc.boolean(),
        fc.integer({ min: 1, max: 8192 }),
        fc.constantFrom('sharegpt', 'openai', 'llava'),
        async (elements, shape, pretty, batchBytes, to) => {
          const input = join(dir, `prop-${runs}.${shape}`);
          const body =
            shape === 'jsonl'
              ? `${elements.join('\n')}\n`
              : `[${pretty ? '\n  ' : ''}${elements.join(pretty ? ',\n  ' : ',')}${pretty ? '\n' : ''}]`;
          await writeFile(input, body);
          const one = await run({ inputs: [input], to, container: 'jsonl' }, 1);
          const two = await run({ inputs: [input], to, container: 'jsonl' }, 2, batchBytes);
          expect({ ...two, fallbacks: [] }).toEqual(one);
        },
      ),
      { numRuns: 10, seed: 17 },
    );
  }, 60_000);
});

/** A run with two workers and extra parallel options. */
async function convertWith(options: Parameters<typeof run>[0], extra: { check?: 'record' }): Promise<Outcome> {
  const case_ = join(dir, `run-${runs++}`);
  await mkdir(case_);
  const output = join(case_, 'out.json');
  const rejects = join(case_, 'rejects.jsonl');
  const notes: Diagnostic[] = [];
  const rejections: Outcome['rejections'] = [];
  const fallbacks: string[] = [];
  const {
    durationMs: _d,
    output: _o,
    ...summary
  } = await convert({
    registry: createBuiltinRegistry(),
    output,
    rejects,
    ...options,
    onDiagnostic: (d) => notes.push(d),
    onReject: (r) => rejections.push(r),
    parallel: { workers: 2, batchBytes: 2048, ...extra, onFallback: (reason) => fallbacks.push(reason) },
  });
  expect(fallbacks).toEqual([]);
  const read = async (path: string) => (existsSync(path) ? readFile(path, 'utf8') : undefined);
  return { summary, output: await read(output), rejects: await read(rejects), notes, rejections, fallbacks };
}
