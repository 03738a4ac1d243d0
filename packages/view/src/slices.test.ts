import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlavaRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeParquetHub } from './_testing.js';
import { DatasetIndex } from './dataset.js';
import { createDefaultMetrics } from './metrics.js';
import { ParquetRecords } from './parquet.js';
import { readImage, readRecordView } from './records.js';

const metrics = createDefaultMetrics();

describe('a Parquet file with a huge row group, read in slices of pages', () => {
  let dir: string;
  let file: string;
  const records: LlavaRecord[] = [];
  const bytes = new Map<string, Uint8Array>();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-view-slices-'));
    // 30 records in one row group, each with a 40 KB image of its own (a real PNG header, noise after it):
    // the writer cuts 1 MB pages, so the group has a few pages of ~25 rows
    const png = encodeTinyImage('png', { width: 4, height: 4 });
    let seed = 3;
    for (let i = 0; i < 30; i++) {
      const noise = new Uint8Array(40 * 1024).map(() => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed >>> 16;
      });
      bytes.set(`coco/${i}.png`, new Uint8Array([...png, ...noise]));
      records.push({
        id: i === 27 ? 'r-2' : `r-${i}`, // 27 repeats the id of 2, in another slice
        image: `coco/${i}.png`,
        conversations: [
          { from: 'human', value: `<image>\nWhat is in picture ${i}?` },
          { from: 'gpt', value: `Noise, ${'more '.repeat(i)}noise.` },
        ],
      });
    }
    await writeParquetHub(join(dir, 'hub'), records, 1000, bytes);
    file = join(dir, 'hub', 'data', 'train-00000-of-00001.parquet');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('indexes, reads, checks and serves every record as when the group is read whole', async () => {
    const whole = await DatasetIndex.build([join(dir, 'hub')], { metrics });
    const sliced = await DatasetIndex.build([join(dir, 'hub')], { metrics, parquetSliceBytes: 1 });
    try {
      expect(sliced.count).toBe(30);
      expect([...sliced.offsets]).toEqual(new Array(30).fill(0)); // one row group…
      expect([...sliced.lengths]).toEqual([...whole.lengths]); // …rows 0–29 of it
      for (const column of ['sourceCode', 'turns', 'images', 'ruleMask', 'worst', 'duplicateOf'] as const) {
        expect([...sliced[column]], column).toEqual([...whole[column]]);
      }
      expect(sliced.duplicateOf[27]).toBe(3); // 1 + record 2
      for (const n of [0, 13, 24, 25, 29, 27]) {
        const view = await readRecordView(sliced, metrics, undefined, n, 'v1');
        expect(view.value, `#${n}`).toEqual(records[n]);
        expect(view.diagnostics).toEqual((await readRecordView(whole, metrics, undefined, n, 'v1')).diagnostics);
        const image = await readImage(sliced, undefined, n, 0);
        expect(image.ok && Buffer.from(image.bytes).equals(bytes.get(`coco/${n}.png`)!)).toBe(true);
      }
      const dup = (await readRecordView(sliced, metrics, undefined, 27, 'v1')).diagnostics.map((d) => d.message);
      expect(dup).toContain('Id "r-2" was already used by record #2.');
      await sliced.countTokens(metrics);
      await whole.countTokens(metrics);
      expect([...sliced.tokens]).toEqual([...whole.tokens]);
    } finally {
      await whole.close();
      await sliced.close();
    }
  });

  it('keeps decoded slices, not the group, in the row-group cache', async () => {
    const cache = new ParquetRecords(() => file, 1, 1);
    const starts = await (await cache.file(0)).slices(0);
    expect(starts.length).toBeGreaterThan(1);
    expect((await cache.read(0, 0, 29, 29)).record).toEqual(records[29]);
    expect(cache.cached).toEqual([`0:0:${starts[starts.length - 1]}`]);
    expect((await cache.read(0, 0, 0, 0)).record).toEqual(records[0]);
    expect(cache.cached).toEqual(['0:0:0']);
    expect((await cache.rows(0, 0)).map((r) => r.id)).toEqual(records.map((r) => r.id));
  });
});
