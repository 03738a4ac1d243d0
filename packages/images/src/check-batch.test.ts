import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, makeTemp, removeTemp, writeTree } from './_testing.js';
import { createImageChecker } from './check.js';
import { checkBatch, decodeVerdict } from './check-batch.js';
import { CheckPool } from './check-pool.js';
import { type ImageRef, imageRefsOfRecord } from './refs.js';
import { createImageResolver, resolverSetup } from './resolver.js';
import type { ImageResolver } from './resolver-types.js';
import { parseImageSourceSpec } from './sources.js';
import { DeferredMiss } from './verdict.js';

let tmp: string;
const refs = [
  'coco/1.jpg', // ok 640×480
  'coco/2.jpg', // truncated
  'coco/nope.jpg', // missing
  'gqa/1.jpg', // a GIF named .jpg
  'gqa/2.png', // ok 30×20
  'gqa/text.jpg', // not an image
  'gqa/link.jpg', // symlink leaving the source
  '../etc/passwd', // refused
  'coco', // a folder, not a file
  'gqa/inside.jpg', // symlink inside the source: ok
];

beforeAll(async () => {
  tmp = await makeTemp();
  await writeTree(join(tmp, 'root'), {
    'coco/1.jpg': fixtures.jpeg(640, 480),
    'coco/2.jpg': fixtures.truncatedJpeg(),
    'gqa/1.jpg': fixtures.gif(),
    'gqa/2.png': fixtures.png(30, 20),
    'gqa/text.jpg': fixtures.text(),
  });
  await writeTree(join(tmp, 'outside'), { 'x.jpg': fixtures.jpeg() });
  await symlink(join(tmp, 'outside', 'x.jpg'), join(tmp, 'root', 'gqa', 'link.jpg'));
  await symlink(join(tmp, 'root', 'coco', '1.jpg'), join(tmp, 'root', 'gqa', 'inside.jpg'));
  await mkdir(join(tmp, 'empty'));
});
afterAll(() => removeTemp(tmp));

const folder = () => createImageResolver([parseImageSourceSpec(join(tmp, 'root'))]);
const items = (list: readonly string[]): ImageRef[] =>
  list.map((ref, recordIndex) => ({ ref, recordIndex, file: 'd.json', pointer: '/image' }));

async function inThread(resolver: ImageResolver, list: readonly string[]) {
  const checker = createImageChecker(resolver, { workers: 0 });
  for (const item of items(list)) await checker.add(item);
  return checker.finish();
}

describe('checkBatch', () => {
  it('gives the verdicts of the in-thread check, through the compact encoding', async () => {
    const batch = await checkBatch(folder(), refs);
    expect(batch.values).toHaveLength(refs.length * 4);
    const cursor = { next: 0 };
    const verdicts = refs.map((_, i) => decodeVerdict(batch, i, cursor));
    expect(verdicts.map((v) => v.outcome.status)).toEqual([
      'ok',
      'truncated',
      'missing',
      'format-mismatch',
      'ok',
      'not-image',
      'refused',
      'refused',
      'missing',
      'ok',
    ]);
    expect(verdicts[0]!.info).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    expect(verdicts[3]!.info).toMatchObject({ format: 'gif' });
    expect(verdicts[5]!.info).toBeUndefined(); // no known format: not counted

    // coco/ is listed by then, and nothing there comes close to nope.jpg: a deferred miss, sent as a bare code
    expect(verdicts[2]!.outcome).toBeInstanceOf(DeferredMiss);

    const summary = await inThread(folder(), refs);
    const byRef = new Map(summary.problems.map((p) => [p.ref, p]));
    for (const [i, ref] of refs.entries()) {
      const { outcome } = verdicts[i]!;
      expect(outcome.status).toBe(byRef.get(ref)?.status ?? 'ok');
      if (outcome instanceof DeferredMiss) continue;
      expect(outcome.findings.map((f) => f.rule.id)).toEqual(byRef.get(ref)?.ruleIds ?? []);
    }
    // the messages and data a worker sends back are the ones the in-thread check writes
    const sent = verdicts.flatMap((v) => v.outcome.findings.map((f) => [f.message, f.data]));
    const written = summary.diagnostics.filter((d) => d.data?.ref !== 'coco/nope.jpg').map((d) => [d.message, d.data]);
    expect(sent).toEqual(written);
    // the deferred miss is explained when its diagnostic is built, as the resolver explains it
    const nope = await folder().resolve('coco/nope.jpg');
    expect(summary.diagnostics.find((d) => d.data?.ref === 'coco/nope.jpg')).toMatchObject({
      ruleId: 'images/missing',
      data: { ref: 'coco/nope.jpg', looked: nope.status === 'missing' ? nope.looked : ['?'] },
      recordIndex: 2,
    });
  });

  it('keeps a miss with a note (a name differing only in letter case) in full', async () => {
    const resolver = folder();
    await resolver.resolve('coco/1.jpg'); // list coco/
    const batch = await checkBatch(resolver, ['coco/1.JPG', 'coco/zzz.jpg']);
    const cursor = { next: 0 };
    const [near, plain] = [decodeVerdict(batch, 0, cursor), decodeVerdict(batch, 1, cursor)];
    expect(near.outcome).not.toBeInstanceOf(DeferredMiss);
    expect(near.outcome.findings[0]!.message).toContain('differing only in letter case');
    expect(plain.outcome).toBeInstanceOf(DeferredMiss);
  });

  it('explains misses of a folder that is not listed yet', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'empty'))]);
    const batch = await checkBatch(resolver, ['a.jpg', 'b/c.jpg']);
    const cursor = { next: 0 };
    const [a, c] = [decodeVerdict(batch, 0, cursor), decodeVerdict(batch, 1, cursor)];
    expect(a.outcome.findings[0]!.data).toEqual({ ref: 'a.jpg', looked: [join(tmp, 'empty', 'a.jpg')] });
    expect(c.outcome.findings[0]!.message).toContain('does not exist');
  });
});

describe('CheckPool', () => {
  it('is not created from TypeScript sources or for zero workers (the caller checks in-thread)', () => {
    const setup = resolverSetup(folder())!;
    expect(CheckPool.create(1, setup, folder(), () => {})).toBeUndefined();
    expect(CheckPool.create(0, setup, folder(), () => {})).toBeUndefined();
  });
});

describe('createImageChecker', () => {
  it('counts each distinct path once, records every reference, and refuses work after finish', async () => {
    const checker = createImageChecker(folder());
    const list = items(['coco/1.jpg', 'coco/nope.jpg', 'coco/1.jpg', 'coco/nope.jpg', 'gqa/2.png']);
    for (const item of list) {
      const wait = checker.add(item);
      if (wait) await wait;
    }
    const summary = await checker.finish();
    expect(summary.total).toMatchObject({ references: 5, distinct: 3, ok: 3, missing: 2 });
    expect(summary.problems).toEqual([
      {
        ref: 'coco/nope.jpg',
        status: 'missing',
        ruleIds: ['images/missing'],
        references: 2,
        firstRecordIndex: 1,
      },
    ]);
    expect(summary.diagnostics.map((d) => d.recordIndex)).toEqual([1, 3]);
    expect(() => checker.add(list[0]!)).toThrow(/finished/);
    await checker.close();
  });
});

describe('imageRefsOfRecord', () => {
  it('gives the refs of one record, with its place', () => {
    const record = { ok: true, value: { id: 3, image: ['a.jpg', 7, 'b.jpg'] }, place: { index: 4, line: 2 } };
    expect(imageRefsOfRecord(record, 'f.json')).toEqual([
      { ref: 'a.jpg', pointer: '/image/0', recordIndex: 4, recordId: 3, file: 'f.json', place: { line: 2 } },
      { ref: 'b.jpg', pointer: '/image/2', recordIndex: 4, recordId: 3, file: 'f.json', place: { line: 2 } },
    ]);
    expect(imageRefsOfRecord({ ok: true, value: { image: 'x.png' } }, undefined, 9)).toEqual([
      { ref: 'x.png', pointer: '/image', recordIndex: 9 },
    ]);
    expect(imageRefsOfRecord({ ok: false })).toEqual([]);
    expect(imageRefsOfRecord({ ok: true, value: { id: 'text-only' } })).toEqual([]);
  });
});

describe('resolveNow', () => {
  it('answers without waiting once the listing is loaded, misses and refusals included', async () => {
    const resolver = folder();
    expect(resolver.resolveNow('coco/1.jpg')).toBeUndefined(); // starts listing coco/
    expect(resolver.resolveNow('../x.jpg')).toMatchObject({ status: 'refused' });
    expect(await resolver.resolve('coco/1.jpg')).toMatchObject({ status: 'found' });
    expect(resolver.resolveNow('coco/1.jpg')).toMatchObject({
      status: 'found',
      location: { kind: 'file', path: join(tmp, 'root', 'coco', '1.jpg') },
    });
    expect(resolver.resolveNow('coco/none.jpg')).toMatchObject({
      status: 'missing',
      looked: [join(tmp, 'root', 'coco', 'none.jpg')],
    });
    expect(resolver.resolveNow('gqa/inside.jpg')).toBeUndefined(); // gqa/ not listed yet
    expect(await resolver.resolve('gqa/inside.jpg')).toMatchObject({ location: { viaSymlink: true } });
    expect(resolver.resolveNow('gqa/inside.jpg')).toMatchObject({ location: { viaSymlink: true } }); // cached
    expect(resolverSetup(resolver)).toMatchObject({ options: { io: 'sync', bareNamesInPrefixedSources: true } });
    expect(resolverSetup({ ...resolver })).toBeUndefined();
  });
});
