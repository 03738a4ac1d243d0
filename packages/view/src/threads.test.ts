import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/format';
import { createImageResolver, parseImageSourceSpec } from '@llavakit/images';
import { createValidator } from '@llavakit/schema';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataset, type TestDataset, writeParquetHub } from './_testing.js';
import { buildIndex } from './build.js';
import { buildIndexInWorker, buildSetup } from './build-thread.js';
import { countAllTokens } from './counting.js';
import { DatasetIndex } from './dataset.js';
import { createDefaultMetrics, createLlamaTokenCounter } from './index.js';
import type { IndexOptions, IndexParts } from './model.js';
import { ParquetRecords } from './parquet.js';
import { readRecordView, readRows } from './records.js';
import { type ReadPlace, RecordsThread } from './records-thread.js';

// The worker threads run the built package (Node cannot start a `.ts` worker): these tests need the build, as CI
// runs it before the tests, and compare what the threads make with what this thread makes from the sources.
const BUILD_WORKER = new URL('../dist/build-worker.js', import.meta.url);
const RECORDS_WORKER = new URL('../dist/records-worker.js', import.meta.url);
const built = existsSync(fileURLToPath(BUILD_WORKER)) && existsSync(fileURLToPath(RECORDS_WORKER));
const notBuilt = 'the package is not built (dist/build-worker.js, dist/records-worker.js): run its build first';
/** A worker script that fails at once. */
const FAILING = new URL('data:text/javascript,throw new Error("boom")');

const metrics = createDefaultMetrics();

/** The parts as a plain value to compare (typed arrays as arrays). */
function plain(parts: IndexParts): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parts)) {
    if (k === 'decode') continue;
    out[k] = ArrayBuffer.isView(v) ? Array.from(v as Uint32Array) : v instanceof Map ? [...v] : v;
  }
  return out;
}

/** What a diagnostic says, without where it is. */
const said = (d: Diagnostic) => ({
  ruleId: d.ruleId,
  severity: d.severity,
  message: d.message,
  data: d.data,
  recordIndex: d.recordIndex,
  recordId: d.recordId,
  pointer: d.pointer,
  place: d.place,
});

describe.skipIf(!built)(`the index built in a worker thread${built ? '' : ` (skipped: ${notBuilt})`}`, () => {
  let data: TestDataset;
  let hub: string;
  beforeAll(async () => {
    data = await makeDataset(60);
    hub = join(data.dir, 'hub');
    await writeParquetHub(hub);
  });
  afterAll(() => data.cleanup());

  const optionsFor = (images: string[]): IndexOptions => {
    const imageSources = images.map((s) => parseImageSourceSpec(s));
    return imageSources.length > 0
      ? { metrics, resolver: createImageResolver(imageSources), imageSources }
      : { metrics };
  };

  it('is the index built in this thread: JSON, JSONL and Parquet, with the image audit', async () => {
    for (const images of [[], data.images]) {
      const options = optionsFor(images);
      const inputs = [data.json, data.jsonl, hub];
      const progress: number[] = [];
      const inWorker = await buildIndexInWorker(
        inputs,
        { ...options, onProgress: (p) => progress.push(p.records) },
        BUILD_WORKER,
      );
      const here = await buildIndex(inputs, options);
      await options.resolver?.close();
      expect(inWorker, 'the worker answered').toBeDefined();
      expect(plain(inWorker!)).toEqual(plain(here));
      expect(inWorker!.count).toBe(60 + 10 + 7);
      expect(progress.length).toBeGreaterThan(0); // progress crossed the thread
      expect(inWorker!.imagesChecked).toBe(images.length > 0);
      if (images.length > 0) expect(inWorker!.ruleRecords.has('images/missing')).toBe(true);
    }
  });

  test.prop(
    [
      fc.array(
        fc.record({
          id: fc.constantFrom('a', 'b', '7', 7, 8),
          image: fc.constantFrom(undefined, 'coco/1.jpg', 'coco/2.jpg', 'coco/none.jpg', '../out.jpg'),
          turns: fc.constantFrom('ok', 'human-twice', 'no-image-token'),
        }),
        { minLength: 1, maxLength: 25 },
      ),
      fc.integer({ min: 1, max: 6 }),
    ],
    { numRuns: 6 },
  )('is the same index as in this thread, for any records, as JSON and as Parquet', async (shapes, groupRows) => {
    const records: LlavaRecord[] = shapes.map(({ id, image, turns }, i) => ({
      id,
      ...(image ? { image } : {}),
      conversations:
        turns === 'human-twice'
          ? [
              { from: 'human', value: `${image ? '<image>\n' : ''}Q ${i}` },
              { from: 'human', value: 'again' },
            ]
          : [
              { from: 'human', value: `${image && turns === 'ok' ? '<image>\n' : ''}Question ${i}?` },
              { from: 'gpt', value: `Answer ${i}, with a few words.` },
            ],
    }));
    const dir = await mkdtemp(join(tmpdir(), 'llava-view-threads-'));
    try {
      await mkdir(join(dir, 'images/coco'), { recursive: true });
      await writeFile(join(dir, 'images/coco/1.jpg'), encodeTinyImage('jpeg', { width: 8, height: 8 }));
      await writeFile(join(dir, 'images/coco/2.jpg'), 'not an image');
      await writeFile(join(dir, 'data.json'), JSON.stringify(records, null, 1));
      await writeParquetHub(join(dir, 'hub'), records, groupRows, new Map());
      for (const input of [join(dir, 'data.json'), join(dir, 'hub')]) {
        const options = optionsFor([join(dir, 'images')]);
        const inWorker = await buildIndexInWorker([input], options, BUILD_WORKER);
        const here = await buildIndex([input], options);
        await options.resolver?.close();
        expect(plain(inWorker!), input).toEqual(plain(here));
      }
      // a Parquet record is validated without its JSON text (nothing of the file to point into): the same
      // file-level diagnostics as a validator given the text
      const validator = createValidator({ file: 'train-00000-of-00001.parquet' });
      for (const [index, r] of records.entries()) validator.check(r, { index }, JSON.stringify(r));
      const parts = await buildIndex([join(dir, 'hub')], { metrics });
      expect(parts.fileDiagnostics.map(said)).toEqual(validator.finish().map(said));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives way to this thread when the worker fails or runs out of memory', async () => {
    expect(await buildIndexInWorker([data.json], { metrics }, FAILING)).toBeUndefined();
    const tiny = { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 };
    expect(await buildIndexInWorker([data.json, hub], { metrics }, BUILD_WORKER, tiny)).toBeUndefined();
  });

  it('stops when aborted, with the signal’s reason', async () => {
    const stop = new AbortController();
    const reason = new Error('stopped');
    const building = buildIndexInWorker(
      [data.json],
      { metrics, signal: stop.signal, onProgress: () => stop.abort(reason) },
      BUILD_WORKER,
    );
    await expect(building).rejects.toBe(reason);
    stop.abort();
    await expect(buildIndexInWorker([data.json], { metrics, signal: stop.signal }, BUILD_WORKER)).rejects.toBe(reason);
    // a progress callback that throws ends the build with its error, as in this thread
    const boom = new Error('boom');
    const throwing = () => {
      throw boom;
    };
    await expect(buildIndexInWorker([data.json], { metrics, onProgress: throwing }, BUILD_WORKER)).rejects.toBe(boom);
    await expect(buildIndex([data.json], { metrics, onProgress: throwing })).rejects.toBe(boom);
  });
});

describe('what can be built in a worker thread', () => {
  it('takes the default summary and image sources, and nothing that cannot cross a thread', () => {
    const imageSources = [parseImageSourceSpec('/tmp/images')];
    const resolver = createImageResolver(imageSources);
    expect(buildSetup(['a.json'], { metrics })).toEqual({ paths: ['a.json'] });
    expect(buildSetup(['a.json'], { metrics, resolver, imageSources, kind: 'llava-next' })).toEqual({
      paths: ['a.json'],
      kind: 'llava-next',
      imageSources,
    });
    // a counter of the caller's still summarizes as the default metrics do: the build can run in a worker
    expect(buildSetup(['a.json'], { metrics: createDefaultMetrics(createLlamaTokenCounter(10)) })).toBeDefined();
    expect(buildSetup(['a.json'], { metrics, resolver })).toBeUndefined(); // a resolver without its sources
    expect(buildSetup(['a.json'], { metrics, decode: (v) => ({ ok: true, record: v }) })).toBeUndefined();
    expect(
      buildSetup(['a.json'], { metrics: { ...metrics, summarize: () => ({ source: 's', turns: 0, images: 0 }) } }),
    ).toBeUndefined();
    expect(buildSetup(['a.json'], { metrics, worker: false })).toBeUndefined();
  });
});

describe.skipIf(!built)(`the records thread${built ? '' : ` (skipped: ${notBuilt})`}`, () => {
  let data: TestDataset;
  let hub: string;
  let index: DatasetIndex;
  beforeAll(async () => {
    data = await makeDataset(60);
    hub = join(data.dir, 'hub');
    await writeParquetHub(hub);
    await writeFile(join(data.dir, 'not.parquet'), 'PAR1 but nothing after it');
    index = await DatasetIndex.build([data.json, data.jsonl, hub], { metrics });
  });
  afterAll(async () => {
    await index.close();
    await data.cleanup();
  });

  const here = () => new ParquetRecords((f) => index.files[f]!.path);
  const placesOf = (numbers: number[]): ReadPlace[] =>
    numbers.map((n) => [index.fileOf[n]!, index.offsets[n]!, index.lengths[n]!, index.localIndex[n]!]);
  const parquetNumbers = () =>
    Array.from({ length: index.count }, (_, n) => n).filter((n) => index.files[index.fileOf[n]!]!.format === 'parquet');
  const same = async (thread: RecordsThread, numbers: number[]) => {
    const local = here();
    const want = await Promise.all(placesOf(numbers).map((p) => local.read(...p)));
    const got = await thread.read(placesOf(numbers));
    expect(got.map((r) => r.text)).toEqual(want.map((r) => r.text));
    expect(got.map((r) => r.record)).toEqual(want.map((r) => r.record));
    expect(got.map((r) => r.invalid)).toEqual(want.map((r) => r.invalid));
    expect(got.map((r) => (r.embedded ? [...r.embedded] : undefined))).toEqual(
      want.map((r) => (r.embedded ? [...r.embedded] : undefined)),
    );
    return got;
  };

  it('reads the records ParquetRecords reads here: texts, records, embedded image bytes', async () => {
    const thread = new RecordsThread(
      { files: index.files },
      () => Promise.reject(new Error('no fallback')),
      RECORDS_WORKER,
    );
    try {
      const numbers = parquetNumbers();
      expect(numbers).toHaveLength(7);
      const got = await same(thread, numbers);
      expect(got.filter((r) => r.embedded?.size).length).toBeGreaterThan(0);
      // what fails there fails here, with the same error: a row past its group, a file that is not Parquet
      const [f, g, , i] = placesOf([numbers[0]!])[0]!;
      await expect(thread.read([[f, g, 99, i]])).rejects.toThrow(/changed since it was indexed/);
      const broken = new RecordsThread(
        { files: [{ ...index.files[f]!, path: join(data.dir, 'not.parquet') }] },
        () => Promise.reject(new Error('no fallback')),
        RECORDS_WORKER,
      );
      const error = await broken.read([[0, 0, 0, 0]]).catch((e: unknown) => e);
      const local = await new ParquetRecords(() => join(data.dir, 'not.parquet'))
        .read(0, 0, 0, 0)
        .catch((e: unknown) => e);
      expect(DiagnosticError.is(error) && DiagnosticError.is(local)).toBe(true);
      expect((error as DiagnosticError).diagnostic).toEqual((local as DiagnosticError).diagnostic);
      await broken.close();
    } finally {
      await thread.close();
    }
  });

  it('counts every record’s tokens as this thread does, and the tokens of texts shown', async () => {
    const local = await DatasetIndex.build([data.json, data.jsonl, hub], { metrics, worker: false });
    const thread = new RecordsThread(
      { files: index.files },
      () => Promise.reject(new Error('no fallback')),
      RECORDS_WORKER,
    );
    try {
      await countAllTokens(local, createDefaultMetrics(createLlamaTokenCounter())); // not the thread's metrics
      const got = new Uint32Array(index.count).fill(0xffffffff);
      let busyAsked = 0;
      const busy = () => busyAsked++ % 3 === 0; // a request now and then: the count waits, then goes on
      expect(await thread.count((from, counts) => got.set(counts, from), busy)).toBe(true);
      expect(Array.from(got)).toEqual(Array.from(local.tokens));
      expect(local.tokens[data.known.brokenJson]).toBe(0);
      expect(busyAsked).toBeGreaterThan(0);
      const texts = await local.readTexts([0, 1, 2, ...parquetNumbers()]);
      const counts = await thread.tokensOf(texts);
      expect(counts).toEqual(texts.map((t) => metrics.tokens(JSON.parse(t))));
    } finally {
      await thread.close();
      await local.close();
    }
  });

  it('gives way to this thread when it fails or runs out of memory, and stops counting when aborted', async () => {
    const fallback = (reads: readonly ReadPlace[]) => Promise.all(reads.map((p) => here().read(...p)));
    for (const [script, limits] of [
      [FAILING, undefined],
      [RECORDS_WORKER, { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 }],
    ] as const) {
      const thread = new RecordsThread({ files: index.files }, fallback, script, limits);
      await same(thread, parquetNumbers()); // answered here when the thread dies
      expect(thread.usable).toBe(false);
      await same(thread, parquetNumbers()); // and every later read
      expect(await thread.count(() => {})).toBe(false);
      expect(await thread.tokensOf(['{}'])).toBeUndefined();
      await thread.close();
    }
    const thread = new RecordsThread({ files: index.files }, fallback, RECORDS_WORKER);
    expect(await thread.count(() => {}, undefined, AbortSignal.abort())).toBe(false);
    const stop = new AbortController();
    const counting = thread.count(() => stop.abort(), undefined, stop.signal);
    expect(await counting).toBe(false);
    await same(thread, parquetNumbers()); // a new thread reads on
    await thread.close();
  });
});

describe.skipIf(!built)(`the built viewer with its threads${built ? '' : ` (skipped: ${notBuilt})`}`, () => {
  let data: TestDataset;
  let hub: string;
  beforeAll(async () => {
    data = await makeDataset(60);
    hub = join(data.dir, 'hub');
    await writeParquetHub(hub);
  });
  afterAll(() => data.cleanup());

  it('shows the rows, record views and token counts this thread shows', async () => {
    // the built package: its index is built in a worker, its records read and counted in the records thread
    const dist = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('./index.js');
    const distRecords = (await import(
      new URL('../dist/records.js', import.meta.url).href
    )) as typeof import('./records.js');
    const distMetrics = dist.createDefaultMetrics();
    const inputs = [data.json, data.jsonl, hub];
    const imageSources = data.images.map((s) => parseImageSourceSpec(s));
    const resolver = createImageResolver(imageSources);
    const threaded = await dist.DatasetIndex.build(inputs, { metrics: distMetrics, resolver, imageSources });
    const local = await DatasetIndex.build(inputs, { metrics, resolver, worker: false });
    try {
      const all = Array.from({ length: local.count }, (_, n) => n);
      // rows first (counted on demand in the thread), then the background count
      expect(await distRecords.readRows(threaded, distMetrics, all.slice(0, 30))).toEqual(
        await readRows(local, metrics, all.slice(0, 30)),
      );
      await threaded.countTokens(distMetrics);
      await local.countTokens(metrics);
      expect(threaded.tokensDone).toBe(true);
      expect(Array.from(threaded.tokens)).toEqual(Array.from(local.tokens));
      expect(await distRecords.readRows(threaded, distMetrics, all)).toEqual(await readRows(local, metrics, all));
      for (const n of [0, data.known.duplicateId, data.known.missingImage, ...all.slice(-7)]) {
        const got = await distRecords.readRecordView(threaded, distMetrics, resolver, n, 'v1');
        const want = await readRecordView(local, metrics, resolver, n, 'v1');
        expect(JSON.parse(JSON.stringify(got))).toEqual(JSON.parse(JSON.stringify(want)));
      }
    } finally {
      await threaded.close();
      await local.close();
      await resolver.close();
    }
  });
});
