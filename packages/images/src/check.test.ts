import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, fixtures, makeTemp, removeTemp, writeTree } from './_testing.js';
import { checkImages } from './check.js';
import { type ImageRef, imageRefsFromRecords } from './refs.js';
import { createImageResolver } from './resolver.js';
import { parseImageSourceSpec } from './sources.js';

let tmp: string;

beforeAll(async () => {
  tmp = await makeTemp();
  await writeTree(join(tmp, 'playground'), {
    'coco/train2017/000000000001.jpg': fixtures.jpeg(640, 480),
    'coco/train2017/000000000002.jpg': fixtures.jpeg(320, 200),
    'coco/train2017/000000000003.jpg': fixtures.truncatedJpeg(),
    'gqa/images/1.jpg': fixtures.gif(),
    'gqa/images/2.png': fixtures.png(30, 20),
    'gqa/images/3.png': fixtures.pngWithoutIend(),
    'ocr_vqa/images/a.jpg': fixtures.text(),
    'ocr_vqa/images/b.jpg': fixtures.empty(),
    'ocr_vqa/images/c.webp': fixtures.webp(50, 60),
    'ocr_vqa/images/d.webp': fixtures.webpVp8x(800, 600),
  });
  await writeTree(join(tmp, 'outside'), { 'x.jpg': fixtures.jpeg() });
  await symlink(join(tmp, 'outside', 'x.jpg'), join(tmp, 'playground', 'gqa', 'images', 'link.jpg'));
  await mkdir(join(tmp, 'zips'));
  await writeFile(
    join(tmp, 'zips', 'cc3m.zip'),
    await buildZip([
      { name: 'GCC_train_000000001.jpg', bytes: fixtures.jpeg(), compress: true },
      { name: 'GCC_train_000000002.jpg', bytes: fixtures.truncatedJpeg(), dataDescriptor: true },
    ]),
  );
});
afterAll(() => removeTemp(tmp));

const refs = (list: [string, string | number, string?][]): ImageRef[] =>
  list.map(([ref, id, pointer], recordIndex) => ({
    ref,
    recordIndex,
    recordId: id,
    file: 'data.json',
    pointer: pointer ?? '/image',
  }));

describe('checkImages', () => {
  it('counts verdicts per prefix and raises one diagnostic per problem reference', async () => {
    const resolver = createImageResolver([
      parseImageSourceSpec(join(tmp, 'playground')),
      parseImageSourceSpec(join(tmp, 'zips', 'cc3m.zip')),
    ]);
    const progress: number[] = [];
    const summary = await checkImages(
      refs([
        ['coco/train2017/000000000001.jpg', '000000000001'],
        ['coco/train2017/000000000002.jpg', '000000000002'],
        ['coco/train2017/000000000003.jpg', '000000000003'],
        ['coco/train2017/000000000004.jpg', '000000000004'],
        ['gqa/images/1.jpg', 1],
        ['gqa/images/2.png', 2],
        ['gqa/images/3.png', 3],
        ['gqa/images/link.jpg', 4],
        ['ocr_vqa/images/a.jpg', 'a'],
        ['ocr_vqa/images/b.jpg', 'b'],
        ['ocr_vqa/images/c.webp', 'c', '/image/0'],
        ['ocr_vqa/images/d.webp', 'c', '/image/1'],
        ['../etc/passwd', 'evil'],
        ['GCC_train_000000001.jpg', 'g1'],
        ['GCC_train_000000002.jpg', 'g2'],
        ['coco/train2017/000000000004.jpg', 'again'],
      ]),
      resolver,
      { concurrency: 3, onProgress: (p) => progress.push(p.checked) },
    );
    await resolver.close();
    expect(progress.at(-1)).toBe(16); // throttled: at most every 100 ms, and once at the end
    expect(summary.total).toEqual({
      references: 16,
      distinct: 15,
      ok: 6,
      missing: 2,
      refused: 2,
      unreadable: 0,
      notImage: 2,
      truncated: 3,
      formatMismatch: 1,
    });
    expect(Object.keys(summary.byPrefix)).toEqual(['(bare)', '../', 'coco/', 'gqa/', 'ocr_vqa/']);
    expect(summary.byPrefix['coco/']).toMatchObject({
      references: 5,
      distinct: 4,
      ok: 2,
      missing: 2,
      truncated: 1,
      formats: { jpeg: 3 },
      width: { min: 64, max: 640 },
      height: { min: 64, max: 480 },
    });
    expect(summary.byPrefix['ocr_vqa/']).toMatchObject({ ok: 2, notImage: 2, width: { min: 50, max: 800 } });
    const rules = summary.diagnostics.map((d) => `${d.recordIndex} ${d.pointer} ${d.ruleId}`);
    expect(rules).toEqual([
      '2 /image images/truncated',
      '3 /image images/missing',
      '4 /image images/format-mismatch',
      '6 /image images/truncated',
      '7 /image images/outside-root',
      '8 /image images/not-an-image',
      '9 /image images/not-an-image',
      '12 /image images/outside-root',
      '14 /image images/truncated',
      '15 /image images/missing',
    ]);
    const gif = summary.diagnostics.find((d) => d.ruleId === 'images/format-mismatch')!;
    expect(gif).toMatchObject({ severity: 'warning', recordId: 1, file: 'data.json' });
    expect(gif.message).toContain('is a GIF but its name ends in .jpg');
    expect(summary.diagnostics.find((d) => d.recordIndex === 9)!.message).toContain('empty file');
    expect(summary.problems.map((p) => [p.ref, p.status, p.references])).toEqual([
      ['coco/train2017/000000000003.jpg', 'truncated', 1],
      ['coco/train2017/000000000004.jpg', 'missing', 2],
      ['gqa/images/1.jpg', 'format-mismatch', 1],
      ['gqa/images/3.png', 'truncated', 1],
      ['gqa/images/link.jpg', 'refused', 1],
      ['ocr_vqa/images/a.jpg', 'not-image', 1],
      ['ocr_vqa/images/b.jpg', 'not-image', 1],
      ['../etc/passwd', 'refused', 1],
      ['GCC_train_000000002.jpg', 'truncated', 1],
    ]);
  });

  it('gives the same verdicts with asynchronous reads', async () => {
    const list = refs([
      ['coco/train2017/000000000001.jpg', 1],
      ['coco/train2017/000000000003.jpg', 3],
      ['gqa/images/1.jpg', 4],
      ['ocr_vqa/images/a.jpg', 5],
      ['coco/train2017/000000000001.jpg', 6],
    ]);
    const totals = [];
    for (const io of ['sync', 'async'] as const) {
      const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'playground'))], { io });
      totals.push((await checkImages(list, resolver)).total);
      await resolver.close();
    }
    expect(totals[0]).toEqual({
      references: 5,
      distinct: 4,
      ok: 2,
      missing: 0,
      refused: 0,
      unreadable: 0,
      notImage: 1,
      truncated: 1,
      formatMismatch: 1,
    });
    expect(totals[1]).toEqual(totals[0]);
  });

  it('reports a zip entry whose data cannot be inflated as unreadable', async () => {
    const zip = await buildZip([{ name: 'bad.png', bytes: fixtures.png(64, 64), compress: true }]);
    const dataStart = 30 + zip.readUInt16LE(26) + zip.readUInt16LE(28);
    zip[dataStart] = 0xff; // final block with the reserved block type 11: invalid deflate data
    await writeFile(join(tmp, 'zips', 'bad.zip'), zip);
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'zips', 'bad.zip'))]);
    const summary = await checkImages([{ ref: 'bad.png', recordIndex: 0 }], resolver);
    await resolver.close();
    expect(summary.total.unreadable).toBe(1);
    expect(summary.diagnostics.map((d) => d.ruleId)).toEqual(['images/unreadable']);
  });

  it('includes source problems and reads records from reader results', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'nope'))]);
    const records = [
      { ok: true, value: { id: 'a', image: 'x.jpg' }, place: { index: 0, offset: 1, line: 2, column: 3 } },
      { ok: false, place: { index: 1 } },
      { ok: true, value: { id: 7, image: ['y.jpg', 5, 'z.png'] }, place: { index: 2, line: 9 } },
      { ok: true, value: { id: 'text-only' }, place: { index: 3 } },
    ];
    const collected: ImageRef[] = [];
    for await (const ref of imageRefsFromRecords(records, 'f.json')) collected.push(ref);
    expect(collected).toEqual([
      {
        ref: 'x.jpg',
        pointer: '/image',
        recordIndex: 0,
        recordId: 'a',
        file: 'f.json',
        place: { offset: 1, line: 2, column: 3 },
      },
      { ref: 'y.jpg', pointer: '/image/0', recordIndex: 2, recordId: 7, file: 'f.json', place: { line: 9 } },
      { ref: 'z.png', pointer: '/image/2', recordIndex: 2, recordId: 7, file: 'f.json', place: { line: 9 } },
    ]);
    const summary = await checkImages(imageRefsFromRecords(records, 'f.json'), resolver);
    expect(summary.diagnostics.map((d) => d.ruleId)).toEqual([
      'images/source-unusable',
      'images/missing',
      'images/missing',
      'images/missing',
    ]);
    expect(summary.diagnostics[3]).toMatchObject({ pointer: '/image/2', place: { line: 9 } });
    expect(summary.diagnostics[1]!.data?.looked).toEqual(
      [`folder ${join(tmp, 'nope')} does not exist`].map((s) => `${join(tmp, 'nope', 'x.jpg')}: ${s}`),
    );
  });

  it('counts diagnostics per rule and builds only the first ones of each rule on request', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'playground'))]);
    const list: [string, number, string?][] = [];
    for (let i = 0; i < 30; i++) list.push([`coco/train2017/missing-${i}.jpg`, i]);
    list.push(['coco/train2017/000000000003.jpg', 30], ['gqa/images/1.jpg', 31], ['gqa/images/3.png', 32]);
    list.push(['coco/train2017/missing-0.jpg', 33, '/image/1'], ['../x.jpg', 34]);
    // records in reverse: the diagnostics still come sorted by record
    const summary = await checkImages(refs(list).reverse(), resolver);
    const all = summary.diagnostics;
    expect(summary.diagnostics).toBe(all); // built once
    const counted: Record<string, Record<string, number>> = {};
    for (const d of all) {
      counted[d.ruleId] ??= {};
      counted[d.ruleId]![d.severity] = (counted[d.ruleId]![d.severity] ?? 0) + 1;
    }
    expect(summary.ruleCounts).toEqual(counted);
    expect(summary.ruleCounts['images/missing']).toEqual({ error: 31 });
    expect(all.map((d) => d.recordIndex)).toEqual([...all.map((d) => d.recordIndex)].sort((a, b) => a! - b!));
    for (const max of [1, 2, 5, 100]) {
      const shown = new Map<string, number>();
      const expected = all.filter((d) => {
        const n = shown.get(d.ruleId) ?? 0;
        shown.set(d.ruleId, n + 1);
        return n < max;
      });
      expect(summary.firstDiagnostics(max)).toEqual(expected);
    }
    // a missing image is explained where the resolver looked, whether built first or all at once
    expect(summary.firstDiagnostics(1)[0]).toMatchObject({
      ruleId: 'images/missing',
      recordIndex: 0,
      data: { ref: 'coco/train2017/missing-0.jpg', looked: [join(tmp, 'playground', 'coco/train2017/missing-0.jpg')] },
    });
    expect(summary.problems.find((p) => p.ref === 'coco/train2017/missing-0.jpg')).toMatchObject({ references: 2 });
  });

  it('explains a miss in a zip with a single top folder as the resolver does, built only when asked', async () => {
    await writeFile(
      join(tmp, 'zips', 'pretrain.zip'),
      await buildZip([
        { name: 'images/00453/004539375.jpg', bytes: fixtures.jpeg() },
        { name: 'images/00453/004539376.jpg', bytes: fixtures.jpeg() },
      ]),
    );
    const archive = join(tmp, 'zips', 'pretrain.zip');
    const resolver = createImageResolver([parseImageSourceSpec(archive)]);
    const summary = await checkImages(
      refs([
        ['00453/004539375.jpg', 1],
        ['00453/000000000.jpg', 2],
        ['00453/000000001.jpg', 3],
        ['00453/000000000.jpg', 4],
      ]),
      resolver,
    );
    expect(summary.total).toMatchObject({ references: 4, distinct: 3, ok: 1, missing: 3 });
    const expected = await resolver.resolve('00453/000000001.jpg');
    expect(expected).toMatchObject({
      status: 'missing',
      looked: [`${archive}!00453/000000001.jpg (and images/00453/000000001.jpg)`],
    });
    const missing = summary.diagnostics.filter((d) => d.ruleId === 'images/missing');
    expect(missing.map((d) => d.recordIndex)).toEqual([1, 2, 3]);
    expect(missing[1]!.data).toEqual({
      ref: '00453/000000001.jpg',
      looked: expected.status === 'missing' ? expected.looked : [],
    });
    expect(missing[1]!.message).toContain('(and images/00453/000000001.jpg)');
    await resolver.close();
  });
});
