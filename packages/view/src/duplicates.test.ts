import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import type { Diagnostic } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/format';
import { createValidator } from '@llavakit/schema';
import { describe, expect } from 'vitest';
import { writeParquetHub } from './_testing.js';
import { DatasetIndex } from './dataset.js';
import { createDefaultMetrics } from './metrics.js';
import { readRecordView } from './records.js';

const metrics = createDefaultMetrics();
const IDS = ['a', 'b', '1', 1, 2, 'x'] as const;
const IMAGES = [undefined, 'coco/1.jpg', 'coco/2.jpg'] as const;

/** What a diagnostic says, without its place in the file (the view has record-relative places). */
const said = (d: Diagnostic) => ({
  ruleId: d.ruleId,
  severity: d.severity,
  message: d.message,
  data: d.data,
  recordIndex: d.recordIndex,
  recordId: d.recordId,
  pointer: d.pointer,
  excerpt: d.excerpt,
});

describe('duplicate ids, replayed when a record is opened', () => {
  test.prop(
    [
      fc.array(fc.record({ id: fc.constantFrom(...IDS), image: fc.constantFrom(...IMAGES) }), {
        minLength: 1,
        maxLength: 14,
      }),
    ],
    { numRuns: 12 },
  )('give the diagnostics a full validator pass gives, for JSON and Parquet', async (shapes) => {
    const records: LlavaRecord[] = shapes.map(({ id, image }, i) => ({
      id,
      ...(image ? { image } : {}),
      conversations: [
        { from: 'human', value: `${image ? '<image>\n' : ''}Question ${i}?` },
        { from: 'gpt', value: `Answer ${i}.` },
      ],
    }));
    const validator = createValidator({ file: 'data.json' });
    const expected = records.map((r, index) =>
      validator
        .check(r, { index })
        .filter((d) => d.ruleId === 'id/duplicate')
        .map(said),
    );
    const dir = await mkdtemp(join(tmpdir(), 'llava-view-dups-'));
    try {
      await writeFile(join(dir, 'data.json'), JSON.stringify(records, null, 1));
      await writeParquetHub(join(dir, 'hub'), records, 4);
      for (const input of [join(dir, 'data.json'), join(dir, 'hub')]) {
        const index = await DatasetIndex.build([input], { metrics });
        try {
          expect(index.kept.size, input).toBe(0); // nothing kept: replayed from the duplicateOf column
          for (let n = 0; n < records.length; n++) {
            const view = await readRecordView(index, metrics, undefined, n, 'v1');
            const got = view.diagnostics.filter((d) => d.ruleId === 'id/duplicate').map(said);
            const want = expected[n]!;
            expect(got, `${input} #${n}`).toEqual(want);
            expect(index.duplicateOf[n]! > 0).toBe(want.length > 0);
          }
        } finally {
          await index.close();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
