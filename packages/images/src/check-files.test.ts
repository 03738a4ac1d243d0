import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, makeTemp, removeTemp, writeTree } from './_testing.js';
import { checkImageFiles, missingListLines, withOutputFailure } from './check-files.js';
import { renderImagesReport, writeImagesReportJson } from './check-report.js';
import { parseImageSourceSpec } from './sources.js';

let tmp: string;
let data: string;

beforeAll(async () => {
  tmp = await makeTemp();
  await writeTree(join(tmp, 'images'), {
    'coco/1.jpg': fixtures.jpeg(640, 480),
    'coco/2.jpg': fixtures.truncatedJpeg(),
    'gqa/3.png': fixtures.gif(),
  });
  data = join(tmp, 'data.json');
  const records = [
    { id: 'a', image: 'coco/1.jpg', conversations: [] },
    { id: 'b', image: 'coco/2.jpg', conversations: [] },
    { id: 'c', image: ['gqa/3.png', 'coco/missing.jpg'], conversations: [] },
    { id: 'd', image: 'coco/missing.jpg', conversations: [] },
    { id: 'e', conversations: [] },
  ];
  await writeFile(data, `${JSON.stringify(records, null, 1).slice(0, -1)},\n {"id": "f", "image": "coco/1.jpg",}\n]`);
});
afterAll(() => removeTemp(tmp));

describe('checkImageFiles (the images check of whole files, rolled up)', () => {
  it('checks every reference, counts per rule and severity, and fails on errors', async () => {
    const { report, ruleCounts } = await checkImageFiles({
      inputs: [data],
      sources: [parseImageSourceSpec(join(tmp, 'images'))],
      workers: 0,
    });
    expect(report.total).toMatchObject({ references: 5, distinct: 4, ok: 1, missing: 2, truncated: 1 });
    expect(Object.keys(report.byPrefix)).toEqual(['coco/', 'gqa/']);
    expect(report.problems.map((p) => [p.ref, p.status, p.references])).toEqual([
      ['coco/2.jpg', 'truncated', 1],
      ['gqa/3.png', 'format-mismatch', 1],
      ['coco/missing.jpg', 'missing', 2],
    ]);
    // the broken record is a read problem, listed first and counted
    expect(report.diagnostics[0]).toMatchObject({ ruleId: 'json/syntax', recordIndex: 5 });
    expect(ruleCounts['images/missing']).toEqual({ error: 2 });
    expect(ruleCounts['json/syntax']).toEqual({ error: 1 });
    expect(report.counts).toEqual({ error: 4, warning: 1, info: 0 });
    expect(report.ok).toBe(false);
    expect(report.sources).toEqual([join(tmp, 'images')]);
  });

  it('keeps the first diagnostics of each rule only when asked, and checks only kept records', async () => {
    const sources = [parseImageSourceSpec(join(tmp, 'images'))];
    const few = await checkImageFiles({ inputs: [data], sources, maxPerRule: 1, workers: 0 });
    expect(few.report.diagnostics.filter((d) => d.ruleId === 'images/missing')).toHaveLength(1);
    expect(few.report.counts.error).toBe(4);
    const shard = await checkImageFiles({ inputs: [data], sources, keepRecord: (i) => i === 0, workers: 0 });
    expect(shard.report.total.references).toBe(1);
    expect(shard.report.ok).toBe(true);
    const strict = await checkImageFiles({ inputs: [data], sources, keepRecord: (i) => i === 2, strict: true });
    expect(strict.report.counts).toMatchObject({ error: 1, warning: 1 });
  });

  it('renders the table and the closing line, lists missing images, and streams the same JSON', async () => {
    const sources = [parseImageSourceSpec(join(tmp, 'images'))];
    const { report, ruleCounts } = await checkImageFiles({ inputs: [data], sources, workers: 0 });
    const text = renderImagesReport(report, { ruleCounts, maxPerRule: 20, listFile: 'missing.tsv' });
    expect(text).toMatch(/^Checked 5 image references \(4 distinct\) from 1 file in \d+\.\d s\.\n\n/);
    expect(text).toContain('prefix  refs  distinct  ok  missing');
    expect(text).toMatch(/\ntotal +5 +4 +1 +2 /);
    expect(text.endsWith('4 errors, 1 warning in 3 images. List written to missing.tsv.\n')).toBe(true);
    expect(missingListLines(report)).toEqual([
      'coco/2.jpg\ttruncated\t1\n',
      'gqa/3.png\tformat-mismatch\t1\n',
      'coco/missing.jpg\tmissing\t2\n',
    ]);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeImagesReportJson(report, out);
    expect(Buffer.concat(chunks).toString()).toBe(`${JSON.stringify(report, null, 2)}\n`);
    const failure = { ruleId: 'output/write-failed', severity: 'error' as const, message: 'Cannot write.' };
    const failed = withOutputFailure({ ...report, ok: true }, failure);
    expect(failed.ok).toBe(false);
    expect(failed.counts.error).toBe(report.counts.error + 1);
    expect(failed.diagnostics.at(-1)).toBe(failure);
  });

  it('says all is sound when it is', async () => {
    const { report } = await checkImageFiles({
      inputs: [data],
      sources: [parseImageSourceSpec(join(tmp, 'images'))],
      keepRecord: (i) => i === 0,
    });
    expect(renderImagesReport(report).endsWith('\n\nAll images found and sound.\n')).toBe(true);
  });
});
