import { join } from 'node:path';
import type { LlavaRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, read, tempDir, write } from './__fixtures__/helpers.js';

const pool = new Map<string, Uint8Array>([
  ['coco/train2017/000000033471.jpg', encodeTinyImage('jpeg', { width: 12, height: 9 })],
  ['gqa/images/2354786.jpg', encodeTinyImage('jpeg', { width: 5, height: 7, color: [1, 2, 3] })],
  ['ocr_vqa/images/140031996X.png', encodeTinyImage('png', { width: 3, height: 3 })],
  ['vg/VG_100K/1.gif', encodeTinyImage('gif', { width: 2, height: 2 })],
  ['textvqa/x.webp', encodeTinyImage('webp', { width: 6, height: 4 })],
]);
const paths = [...pool.keys()];

const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
  fc.boolean(),
  fc.constant(null),
);
const extraValue = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.string(), scalar, { maxKeys: 3 }),
);

const turn = fc.oneof(
  { weight: 5, arbitrary: fc.record({ from: fc.constantFrom('human', 'gpt', 'system'), value: fc.string() }) },
  { weight: 1, arbitrary: fc.record({ from: fc.constant('gpt'), value: fc.string(), weight: fc.constantFrom(0, 1) }) },
);

const record = fc
  .record(
    {
      id: fc.oneof(fc.string(), fc.integer({ min: 0 }), fc.stringMatching(/^[0-9]{1,6}$/)),
      image: fc.oneof(
        fc.constantFrom(...paths),
        fc.uniqueArray(fc.constantFrom(...paths), { minLength: 0, maxLength: 3 }),
      ),
      conversations: fc.array(turn, { minLength: 1, maxLength: 4 }),
      data_source: fc.oneof(fc.string(), extraValue),
      model: extraValue,
      images: fc.string(),
    },
    { requiredKeys: ['conversations'] },
  )
  .map((r) => r as LlavaRecord);

describe('llava → parquet → llava (property)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it('gives back the same records (id types, extra keys, text-only rows) and byte-identical images', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 25 }), fc.integer({ min: 1, max: 7 }), async (records, rows) => {
        const file = join(dir, `rt-${n++}.parquet`);
        const multi = records.some((r) => Array.isArray(r.image));
        const seen = await write(records, file, { rowGroupRows: rows, imageLayout: multi ? 'images' : 'image' }, pool);
        expect(seen.rejected).toEqual([]);
        const back = await read(file);
        expect(back.map((r) => (r.ok ? r.record : r))).toEqual(records);
        for (const result of back) {
          if (!result.ok) continue;
          const named = typeof result.record.image === 'string' ? [result.record.image] : (result.record.image ?? []);
          for (const path of named) expect(b64(result.embedded?.get(path))).toBe(b64(pool.get(path)));
        }
      }),
      { numRuns: 60 },
    );
  });
});
