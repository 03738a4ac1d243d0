import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { convert, createBuiltinRegistry, loadFormatPlugins } from '@llavakit/convert';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStats, type StatsOptions, type StatsResult } from './stats.js';
import { rec, registry, tempDir, writeJson } from './test-helpers.js';

/**
 * `computeStats` with worker threads gives the very result of one thread: the same JSON (key order included) for any
 * number of workers and any batch size, duplicates counted over every input, invalid elements by rule, the same
 * fatal error; a worker that dies is `run/worker-failed`, an abort stops it. (The worker script is the built one in
 * `dist/`, as for the conversion's workers.)
 */
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** The result as JSON, without its duration: what must not change with the number of workers. */
const json = ({ durationMs: _d, ...rest }: StatsResult) => JSON.stringify(rest);

async function statsWith(options: StatsOptions, workers: number): Promise<string> {
  const fallbacks: string[] = [];
  const result = await computeStats({ ...options, workers, onFallback: (r) => fallbacks.push(r) });
  expect(fallbacks).toEqual([]);
  return json(result);
}

/** The result's JSON, or the fatal diagnostic that ended the run (an empty input, a cut one). */
async function outcomeWith(options: StatsOptions, workers: number): Promise<string> {
  try {
    return await statsWith(options, workers);
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    return `fatal ${JSON.stringify(error.diagnostic)}`;
  }
}

/** A varied record list: duplicate ids and conversations, text-only, several images, every `<image>` placement. */
function mixedRecords(n: number, salt: string): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = i % 37 === 5 ? `dup${i % 3}` : `${salt}${i}`;
    const question = i % 11 === 0 ? 'What is shown?' : `Question ${i % 50} about ${'word '.repeat(i % 9)}it?`;
    switch (i % 6) {
      case 0:
        out.push(rec(id, question, `coco/train2017/${i}.jpg`, `Answer ${i}: ${'a cat '.repeat(i % 13)}`));
        break;
      case 1:
        out.push(rec(i, question)); // a numeric id, text-only
        break;
      case 2:
        out.push({
          id,
          image: [`gqa/${i}.jpg`, `vg/${i}.jpg`],
          conversations: [
            { from: 'human', value: `Compare <image> and <image> ${question}` },
            { from: 'gpt', value: 'They differ.' },
          ],
        });
        break;
      case 3:
        out.push({
          id,
          image: `ocr_vqa/${i}.jpg`,
          data_source: i % 4 === 0 ? 'my-ocr' : 'other',
          conversations: [
            { from: 'human', value: `${question}\n<image>` },
            { from: 'gpt', value: 'Text.' },
            { from: 'human', value: 'More?' },
            { from: 'gpt', value: 'No.' },
          ],
        });
        break;
      case 4:
        // an image without <image> (none), and one with two tokens for one image (mismatch)
        out.push({
          id,
          image: `textvqa/${i}.jpg`,
          conversations: [
            { from: 'human', value: i % 12 === 4 ? question : `<image> ${question} <image>` },
            { from: 'gpt', value: `Answer ${i % 7}.` },
          ],
        });
        break;
      default:
        out.push({ id, conversations: [{ from: 'human', value: question }] }); // one turn: still a record
    }
  }
  return out;
}

describe('computeStats with workers', { timeout: 60_000 }, () => {
  let array: string;
  let lines: string;
  let sharegpt: string;
  beforeAll(async () => {
    // A JSON array with broken elements (a syntax error, a record that does not decode) among valid records.
    const texts = mixedRecords(400, 'a').map((r) => JSON.stringify(r, null, 1));
    texts.splice(100, 0, '{"id": "broken", "conversations": [,]}');
    texts.splice(250, 0, '{"conversations": 3}', '"not a record"');
    array = join(dir, 'mixed.json');
    await writeFile(array, `[\n${texts.join(',\n')}\n]\n`);
    // JSON Lines repeating some of the array's ids and conversations (duplicates across inputs), with a bad line.
    const more = [...mixedRecords(150, 'b'), ...mixedRecords(60, 'a')].map((r) => JSON.stringify(r));
    more.splice(30, 0, '{"id": 1, "conversations": [');
    lines = join(dir, 'more.jsonl');
    await writeFile(lines, `${more.join('\n')}\n`);
    // A third input in another format (decoded by the workers with the ShareGPT reader).
    const source = await writeJson(join(dir, 'source.json'), mixedRecords(90, 'c'));
    sharegpt = join(dir, 'more.sharegpt.json');
    await convert({ inputs: [source], to: 'sharegpt', output: sharegpt, registry: createBuiltinRegistry() });
  });

  it('1, 2 and 3 workers give the same JSON: several inputs, duplicates across them, invalid elements, a template', async () => {
    const options: StatsOptions = { inputs: [array, lines, sharegpt], registry, template: 'v1', batchBytes: 2048 };
    const one = await statsWith(options, 1);
    expect(await statsWith(options, 2)).toBe(one);
    expect(await statsWith(options, 3)).toBe(one);
    // (and the fixture holds what the test is about)
    const result = JSON.parse(one) as StatsResult;
    expect(result.inputs.map((i) => [i.format, i.read, i.invalid])).toEqual([
      ['llava', 403, 3],
      ['llava', 211, 1],
      ['sharegpt', expect.any(Number), 0],
    ]);
    expect(result.inputs[2]!.read).toBeGreaterThan(50);
    expect(Object.keys(result.invalidByRule).length).toBeGreaterThanOrEqual(2);
    expect(result.duplicates.ids).toBeGreaterThan(60);
    expect(result.duplicates.conversations).toBeGreaterThan(60);
    expect(result.textOnly).toBeGreaterThan(100);
    expect(result.imagePlacement.none).toBeGreaterThan(0);
    expect(result.imagePlacement.mismatch).toBeGreaterThan(0);
    expect(result.tokens!.overhead.min).toBeGreaterThan(0);
  });

  it('the same without tokens, with a 1-byte batch limit (one element per batch) and with the default batches', async () => {
    for (const batchBytes of [1, undefined]) {
      const options: StatsOptions = {
        inputs: [lines, array],
        registry,
        tokens: false,
        ...(batchBytes ? { batchBytes } : {}),
      };
      const one = await statsWith(options, 1);
      expect(await statsWith(options, 2)).toBe(one);
    }
  });

  it('a shard (keepRecord) counts the same records with workers, and the shards add up to the whole', async () => {
    const whole = JSON.parse(await statsWith({ inputs: [array], registry, tokens: false }, 1)) as StatsResult;
    let records = 0;
    for (const k of [0, 1, 2]) {
      const options: StatsOptions = { inputs: [array], registry, keepRecord: (i) => i % 3 === k, batchBytes: 4096 };
      const one = await statsWith(options, 1);
      expect(await statsWith(options, 2)).toBe(one);
      records += (JSON.parse(one) as StatsResult).records;
    }
    expect(records).toBe(whole.records);
  });

  it('a fatal error ends the run with the same diagnostic (a cut array, invalid UTF-8 in an element)', async () => {
    const text = JSON.stringify(mixedRecords(300, 'f'), null, 1);
    const cut = join(dir, 'cut.json');
    await writeFile(cut, text.slice(0, Math.floor(text.length * 0.7)));
    const utf8 = join(dir, 'utf8.json');
    const bytes = Buffer.from(text);
    bytes[bytes.indexOf('Question 20 about')] = 0xff;
    await writeFile(utf8, bytes);
    for (const input of [cut, utf8]) {
      const failures = [];
      for (const workers of [1, 2]) {
        const error = await computeStats({ inputs: [array, input], registry, workers, batchBytes: 4096 }).catch(
          (e: unknown) => e,
        );
        expect(DiagnosticError.is(error), String(error)).toBe(true);
        failures.push((error as DiagnosticError).diagnostic);
      }
      expect(failures[1]).toEqual(failures[0]);
      expect(failures[0]!.file).toBe(input);
    }
  });

  it('the records are counted in the workers (a plugin reader that says which thread decoded them)', async () => {
    const plugin = join(dir, 'thread.mjs');
    await writeFile(
      plugin,
      `import { isMainThread } from 'node:worker_threads';
      export default { specVersion: 1, name: 'thread', decode(value) {
        return { ok: true, record: { ...value, data_source: isMainThread ? 'main' : 'worker' } };
      } };`,
    );
    const withPlugin = createBuiltinRegistry();
    expect(await loadFormatPlugins(withPlugin, [plugin])).toEqual([]);
    const sources = async (workers: number | undefined) =>
      Object.keys(
        (await computeStats({ inputs: [lines], registry: withPlugin, from: 'thread', tokens: false, workers })).sources,
      );
    expect(await sources(2)).toEqual(['worker']);
    expect(await sources(1)).toEqual(['main']);
    // By default a small file is counted in this thread (starting workers would cost more than they save).
    expect(await sources(undefined)).toEqual(['main']);
  });

  it('says once why it counts in one thread (the AnyRes presets read image sizes here), with the same result', async () => {
    const options: StatsOptions = { inputs: [array, lines], registry, model: 'llava-next-anyres', images: [dir] };
    const fallbacks: string[] = [];
    const two = await computeStats({ ...options, workers: 2, onFallback: (r) => fallbacks.push(r) });
    expect(fallbacks).toEqual(['llava-next-anyres reads image sizes in this thread']);
    expect(json(two)).toBe(await statsWith(options, 1));
  });

  it('a plugin reader the workers cannot import: counted in this thread, said once, the same result', async () => {
    const plugin = join(dir, 'main-only.mjs');
    await writeFile(
      plugin,
      `import { workerData } from 'node:worker_threads';
      // (only the stats workers, whose data names a model, fail to import it)
      if (workerData && workerData.model) throw new Error('not in a worker');
      export default { specVersion: 1, name: 'main-only', decode: (value) => Array.isArray(value?.conversations)
        ? { ok: true, record: value }
        : { ok: false, diagnostics: [{ ruleId: 'main-only/bad', severity: 'error', message: 'no turns' }] } };`,
    );
    const withPlugin = createBuiltinRegistry();
    expect(await loadFormatPlugins(withPlugin, [plugin])).toEqual([]);
    const options: StatsOptions = { inputs: [lines, array], registry: withPlugin, from: 'main-only' };
    const fallbacks: string[] = [];
    const two = await computeStats({ ...options, workers: 2, onFallback: (r) => fallbacks.push(r) });
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatch(/not in a worker/);
    expect(json(two)).toBe(await statsWith(options, 1));
  });

  it('a worker that dies: run/worker-failed, never a hang', async () => {
    const plugin = join(dir, 'dies.mjs');
    await writeFile(
      plugin,
      `import { isMainThread } from 'node:worker_threads';
      export default { specVersion: 1, name: 'dies', decode(value) {
        if (!isMainThread && value.id === 'b120') process.exit(9);
        return { ok: true, record: value };
      } };`,
    );
    const withPlugin = createBuiltinRegistry();
    expect(await loadFormatPlugins(withPlugin, [plugin])).toEqual([]);
    const options = { inputs: [lines], registry: withPlugin, from: 'dies', batchBytes: 2048 };
    expect((await computeStats({ ...options, workers: 1 })).records).toBe(210);
    const error = await computeStats({ ...options, workers: 2 }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error)).toBe(true);
    expect((error as DiagnosticError).diagnostic).toMatchObject({
      ruleId: 'run/worker-failed',
      message: expect.stringMatching(/^The stats stopped: .*exit code 9/),
    });
  });

  it('an abort stops a run in the middle (the workers with it)', async () => {
    const big = join(dir, 'big.jsonl');
    await writeFile(
      big,
      `${mixedRecords(20_000, 'g')
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
    const controller = new AbortController();
    let progress = 0;
    const error = await computeStats({
      inputs: [big],
      registry,
      workers: 2,
      batchBytes: 16 * 1024,
      signal: controller.signal,
      onProgress: () => {
        if (++progress === 3) controller.abort(new DOMException('stop', 'AbortError'));
      },
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(progress).toBeLessThan(100);
  });
});

describe('computeStats with workers, property', () => {
  const text = fc.constantFrom('What is it?', 'A cat.', ' two  spaces ', '<image>', 'é 🦙', '', 'Line\nbreak', 'x');
  const turn = fc.record({
    from: fc.constantFrom('human', 'gpt', 'user', 'assistant', 'system'),
    value: fc.array(text, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(' ')),
  });
  const element = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        {
          id: fc.oneof(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 5 })),
          image: fc.oneof(fc.constantFrom('coco/1.jpg', 'gqa/2.jpg', 'x.jpg'), fc.constant(['vg/1.jpg', 'vg/2.jpg'])),
          data_source: fc.constantFrom('s1', 's2'),
          conversations: fc.array(turn, { minLength: 1, maxLength: 4 }),
        },
        { requiredKeys: ['conversations'] },
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom({ conversations: 3 }, { id: 'x' }, 'text', null, [1]) },
  );
  test.prop(
    [
      fc.array(element, { maxLength: 60 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 3000 }),
      fc.constantFrom(undefined, 'v1', 'plain'),
    ],
    { numRuns: 6 },
  )(
    'workers 1 and 2 agree on any record list, JSON or JSON Lines, any batch size',
    async (records, jsonl, batchBytes, template) => {
      const input = join(dir, `prop.${jsonl ? 'jsonl' : 'json'}`);
      await writeFile(
        input,
        jsonl ? records.map((r) => JSON.stringify(r)).join('\n') : JSON.stringify(records, null, 1),
      );
      const options: StatsOptions = {
        inputs: [input],
        registry,
        from: 'llava',
        batchBytes,
        ...(template ? { template } : {}),
      };
      const one = await outcomeWith(options, 1);
      expect(await outcomeWith(options, 2)).toBe(one);
    },
    60_000,
  );
});
