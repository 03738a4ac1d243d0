import { readRecords } from '@llavakit/reader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataset, type TestDataset } from './_testing.js';
import { DatasetIndex } from './dataset.js';
import { createDefaultMetrics } from './metrics.js';
import { computeStats, matchRecords, parseFilter } from './query.js';

describe('DatasetIndex', () => {
  let ds: TestDataset;
  let index: DatasetIndex;
  const metrics = createDefaultMetrics();

  beforeAll(async () => {
    ds = await makeDataset(80);
    index = await DatasetIndex.build([ds.json, ds.jsonl], { metrics });
  });
  afterAll(async () => {
    await index?.close();
    await ds?.cleanup();
  });

  it('numbers the records of every file in order, and reads each back by offset, byte for byte', async () => {
    expect(index.count).toBe(90);
    expect(index.files.map((f) => [f.name, f.first, f.records])).toEqual([
      ['data.json', 0, 80],
      ['more.jsonl', 80, 10],
    ]);
    let n = 0;
    for (const path of [ds.json, ds.jsonl]) {
      for await (const item of readRecords(path)) {
        expect(await index.readText(n)).toBe(item.text);
        expect(index.placeOf(n).index).toBe(item.place.index);
        n++;
      }
    }
    expect(n).toBe(90);
    await expect(index.readText(90)).rejects.toThrow(RangeError);
    // many at once: runs of close records in one read, across files, gaps and repeats
    const some = [0, 1, 2, 5, 6, 40, 79, 80, 81, 89, 3, 3];
    const one = await Promise.all(some.map((m) => index.readText(m)));
    expect(await index.readTexts(some)).toEqual(one);
    await expect(index.readTexts([1, 90])).rejects.toThrow(RangeError);
  });

  it('keeps the summary columns and the rules of each record', () => {
    const { known } = ds;
    expect(index.sources[index.sourceCode[0]!]).toBe('coco');
    expect(index.sources[index.sourceCode[2]!]).toBe('sharegpt');
    expect(index.sources[index.sourceCode[known.zipImage]!]).toBe('gqa');
    expect(index.turns[0]).toBe(4);
    expect(index.images[2]).toBe(0);
    expect(index.rulesOf(known.alternation)).toEqual(['roles/alternation']);
    expect(index.rulesOf(known.tokenCount)).toEqual(['image/token-count']);
    expect(index.rulesOf(known.duplicateId)).toEqual(['id/duplicate']);
    expect(index.rulesOf(known.brokenJson)).toEqual(['json/syntax']);
    // without image sources there is no image audit
    expect(index.imagesChecked).toBe(false);
    expect(index.rulesOf(known.missingImage)).toEqual([]);
    // the JSONL file repeats the first ten ids: id/duplicate is per file, so none there
    expect(index.rulesOf(80)).toEqual([]);
  });

  it('counts tokens in the background and on demand, the same either way', async () => {
    const value = JSON.parse(await index.readText(5));
    const onDemand = index.tokensOf(5, value, metrics);
    await index.countTokens(metrics);
    expect(index.tokensDone).toBe(true);
    expect(index.tokens[5]).toBe(onDemand);
    expect(index.tokens[5]).toBe(metrics.tokens(value));
    expect(index.tokens[ds.known.brokenJson]).toBe(0);
  });

  it('filters as a plain scan over the records would', async () => {
    const values = await Promise.all(
      Array.from({ length: index.count }, async (_, n) => {
        try {
          return JSON.parse(await index.readText(n)) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      }),
    );
    const cases: [string, (n: number) => boolean][] = [
      ['source=gqa', (n) => typeof values[n]?.image === 'string' && (values[n]!.image as string).startsWith('gqa/')],
      ['hasImage=0', (n) => values[n]?.image === undefined],
      ['rule=roles%2Falternation', (n) => n === ds.known.alternation],
      ['rule=any', (n) => index.ruleMask[n] !== 0],
      ['severity=warning', (n) => index.worst[n]! >= 2],
      ['minTokens=40&maxTokens=50', (n) => index.tokens[n]! >= 40 && index.tokens[n]! <= 50],
      ['source=nope', () => false],
      ['rule=no%2Fsuch-rule', () => false],
      [
        'hasImage=1&source=coco&minTokens=45',
        (n) => index.images[n]! > 0 && index.sources[index.sourceCode[n]!] === 'coco' && index.tokens[n]! >= 45,
      ],
    ];
    for (const [query, expected] of cases) {
      const want = Array.from({ length: index.count }, (_, n) => n).filter(expected);
      expect([...matchRecords(index, parseFilter(new URLSearchParams(query)))], query).toEqual(want);
    }
    const all = matchRecords(index, {});
    const stats = computeStats(index, all);
    expect(stats.records).toBe(90);
    expect(stats.bySource.reduce((a, s) => a + s.records, 0)).toBe(90);
    expect(stats.turns.reduce((a, b) => a + b.count, 0)).toBe(90);
    expect(stats.tokens.reduce((a, b) => a + b.count, 0)).toBe(90);
  });
});
