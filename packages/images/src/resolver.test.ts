import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, fixtures, makeTemp, patchZipNames, removeTemp, writeTree } from './_testing.js';
import { createImageResolver } from './resolver.js';
import type { ImageResolver, Resolution } from './resolver-types.js';
import { parseImagePathMode, rewriteImagePath } from './rewrite.js';
import { parseImageSourceSpec } from './sources.js';

const hasZipCli = (() => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let tmp: string;
const jpg = fixtures.jpeg();
const png = fixtures.png();

beforeAll(async () => {
  tmp = await makeTemp();
  await writeTree(join(tmp, 'playground'), {
    'coco/train2017/000000033471.jpg': jpg,
    'gqa/images/2327515.jpg': jpg,
    'ocr_vqa/images/140031996X.jpg': jpg,
    'ocr_vqa/images/Upper.JPG': jpg,
  });
  await writeTree(join(tmp, 'cocoflat'), { '000000033471.jpg': jpg, '000000000009.jpg': png });
  await writeTree(join(tmp, 'outside'), { 'secret.jpg': jpg, 'dir/inner.jpg': jpg });
  await writeTree(join(tmp, 'linked'), { 'real/a.jpg': jpg });
  await symlink(join(tmp, 'outside', 'secret.jpg'), join(tmp, 'linked', 'evil.jpg'));
  await symlink(join(tmp, 'outside', 'dir'), join(tmp, 'linked', 'evildir'));
  await symlink(join(tmp, 'linked', 'real', 'a.jpg'), join(tmp, 'linked', 'good.jpg'));
  await symlink(join(tmp, 'linked', 'real'), join(tmp, 'linked', 'gooddir'));
  await symlink(join(tmp, 'linked', 'nowhere.jpg'), join(tmp, 'linked', 'dangling.jpg'));
});
afterAll(() => removeTemp(tmp));

const expectFound = (r: Resolution) => {
  if (r.status !== 'found') throw new Error(`expected found, got ${JSON.stringify(r)}`);
  return r;
};

describe('folder sources', () => {
  it('joins refs to a plain folder', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'playground'))]);
    const r = expectFound(await resolver.resolve('coco/train2017/000000033471.jpg'));
    expect(r.location).toEqual({ kind: 'file', path: join(tmp, 'playground/coco/train2017/000000033471.jpg') });
    expect(expectFound(await resolver.resolve('./gqa\\images/2327515.jpg')).path).toBe('gqa/images/2327515.jpg');
    await resolver.close();
  });

  it('cuts the prefix of a prefixed folder', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(`coco/train2017=${join(tmp, 'cocoflat')}`)]);
    const r = expectFound(await resolver.resolve('coco/train2017/000000033471.jpg'));
    expect(r.location).toEqual({ kind: 'file', path: join(tmp, 'cocoflat/000000033471.jpg') });
    // a bare name falls back to prefixed folders
    expect(expectFound(await resolver.resolve('000000000009.jpg')).location).toEqual({
      kind: 'file',
      path: join(tmp, 'cocoflat/000000000009.jpg'),
    });
    // a ref under another prefix is served by nobody
    const miss = await resolver.resolve('gqa/images/2327515.jpg');
    expect(miss).toMatchObject({ status: 'missing' });
    expect(miss.status === 'missing' && miss.looked[0]).toContain('no source serves');
  });

  it('looks up bare names directly in plain folders and tries sources in order', async () => {
    const resolver = createImageResolver([
      parseImageSourceSpec(join(tmp, 'playground')),
      parseImageSourceSpec(join(tmp, 'cocoflat')),
    ]);
    const r = expectFound(await resolver.resolve('000000033471.jpg'));
    expect(r.sourceIndex).toBe(1);
  });

  it('explains where it looked for a miss, with a near-miss in letter case', async () => {
    const resolver = createImageResolver([
      parseImageSourceSpec(join(tmp, 'playground')),
      parseImageSourceSpec(`ocr_vqa/images=${join(tmp, 'cocoflat')}`),
    ]);
    const r = await resolver.resolve('ocr_vqa/images/upper.jpg');
    expect(r.status).toBe('missing');
    if (r.status !== 'missing') return;
    expect(r.looked).toHaveLength(2);
    expect(r.looked[0]).toContain(join(tmp, 'playground/ocr_vqa/images/upper.jpg'));
    expect(r.looked[0]).toContain('"Upper.JPG" exists, differing only in letter case');
    expect(r.looked[1]).toContain(`via ocr_vqa/images=${join(tmp, 'cocoflat')}`);
    const deep = await resolver.resolve('textvqa/train_images/x.jpg');
    expect(deep.status === 'missing' && deep.looked[0]).toContain('does not exist');
  });

  it('reads bytes and sizes', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'playground'))]);
    expect(await resolver.readBytes('gqa/images/2327515.jpg')).toEqual(jpg);
    expect(await resolver.stat('gqa/images/2327515.jpg')).toMatchObject({ status: 'found', size: jpg.length });
    const error = await resolver.readBytes('gqa/images/nope.jpg').catch((e: unknown) => e);
    expect(DiagnosticError.is(error) && error.diagnostic.ruleId).toBe('images/missing');
  });

  it('reports missing source folders', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'no-such-folder'))]);
    const diagnostics = await resolver.checkSources();
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['images/source-unusable']);
  });
});

describe('security', () => {
  let resolver: ImageResolver;
  beforeAll(() => {
    resolver = createImageResolver([parseImageSourceSpec(join(tmp, 'linked'))]);
  });

  it.each([
    ['../outside/secret.jpg'],
    ['real/../../outside/secret.jpg'],
    ['..\\outside\\secret.jpg'],
    ['/etc/passwd'],
    ['C:/images/x.jpg'],
  ])('refuses %s', async (ref) => {
    const r = await resolver.resolve(ref);
    expect(r.status).toBe('refused');
    expect(r.status === 'refused' && r.diagnostic.ruleId).toBe('images/outside-root');
    const error = await resolver.readBytes(ref).catch((e: unknown) => e);
    expect(DiagnosticError.is(error) && error.diagnostic.ruleId).toBe('images/outside-root');
  });

  it('refuses empty paths as invalid', async () => {
    const r = await resolver.resolve('');
    expect(r.status === 'refused' && r.diagnostic.ruleId).toBe('images/invalid-path');
  });

  it('refuses a symlinked file that points outside the source', async () => {
    const r = await resolver.resolve('evil.jpg');
    expect(r.status).toBe('refused');
    expect(r.status === 'refused' && r.diagnostic.message).toContain('outside');
    await expect(resolver.readBytes('evil.jpg')).rejects.toSatisfy(DiagnosticError.is);
  });

  it('refuses a symlinked folder that points outside the source', async () => {
    const r = await resolver.resolve('evildir/inner.jpg');
    expect(r.status === 'refused' && r.diagnostic.ruleId).toBe('images/outside-root');
  });

  it('follows symlinks that stay inside the source', async () => {
    expect(expectFound(await resolver.resolve('good.jpg')).location).toMatchObject({ viaSymlink: true });
    expect(await resolver.readBytes('good.jpg')).toEqual(jpg);
    const head = await resolver.readHeadTail(expectFound(await resolver.resolve('good.jpg')), 64, 16);
    expect(head.size).toBe(jpg.length);
    expectFound(await resolver.resolve('gooddir/a.jpg'));
  });

  it('treats a dangling symlink as missing', async () => {
    const r = await resolver.resolve('dangling.jpg');
    expect(r.status === 'missing' && r.looked[0]).toContain('dangling symlink');
  });
});

describe('zip sources', () => {
  let zips: string;
  beforeAll(async () => {
    zips = join(tmp, 'zips');
    await mkdir(zips, { recursive: true });
    await writeFile(
      join(zips, 'cc3m.zip'),
      await buildZip([
        { name: 'GCC_train_000000001.jpg', bytes: jpg },
        { name: 'GCC_train_000000002.jpg', bytes: png, compress: true },
        { name: 'GCC_train_000000003.jpg', bytes: jpg, dataDescriptor: true, compress: true },
        { name: 'GCC_train_000000004.jpg', bytes: jpg, zip64: true },
        { name: 'GCC_train_000000005.jpg', bytes: jpg, zip64: true, dataDescriptor: true },
      ]),
    );
    await writeFile(
      join(zips, 'pretrain.zip'),
      await buildZip([
        { name: 'images/00453/004539375.jpg', bytes: jpg, compress: true },
        { name: 'images/00223/002239345.jpg', bytes: fixtures.truncatedJpeg() },
      ]),
    );
    const unsafe = await buildZip([
      { name: 'ok/fine.jpg', bytes: jpg },
      { name: 'xx/evil.jpg', bytes: jpg },
      { name: 'Xabs/abs.jpg', bytes: jpg },
    ]);
    await writeFile(
      join(zips, 'unsafe.zip'),
      patchZipNames(patchZipNames(unsafe, 'xx/evil.jpg', '../evil.jpg'), 'Xabs/abs.jpg', '/abs/abs.jpg'),
    );
    await writeFile(join(zips, 'broken.zip'), 'PK\u0003\u0004 this is not really a zip');
  });

  it('reads stored, deflated, data-descriptor and ZIP64 entries in place', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(zips, 'cc3m.zip'))]);
    for (const n of [1, 3, 4, 5]) {
      const ref = `GCC_train_00000000${n}.jpg`;
      const r = expectFound(await resolver.resolve(ref));
      expect(r.location).toEqual({ kind: 'zip', archive: join(zips, 'cc3m.zip'), entry: ref });
      expect(r.size).toBe(jpg.length);
      expect(await resolver.readBytes(ref)).toEqual(jpg);
    }
    expect(await resolver.readBytes('GCC_train_000000002.jpg')).toEqual(png);
    const ht = await resolver.readHeadTail(expectFound(await resolver.resolve('GCC_train_000000002.jpg')), 10, 12);
    expect([ht.head.length, ht.tail.length, ht.size]).toEqual([10, 12, png.length]);
    const miss = await resolver.resolve('GCC_train_000000009.jpg');
    expect(miss.status === 'missing' && miss.looked[0]).toBe(`${join(zips, 'cc3m.zip')}!GCC_train_000000009.jpg`);
    expect(await resolver.checkSources()).toEqual([]);
    await resolver.close();
  });

  it('matches names under the archive’s single top folder', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(zips, 'pretrain.zip'))]);
    expect(expectFound(await resolver.resolve('00453/004539375.jpg')).location).toMatchObject({
      entry: 'images/00453/004539375.jpg',
    });
    expectFound(await resolver.resolve('images/00453/004539375.jpg'));
    const miss = await resolver.resolve('00453/000000000.jpg');
    expect(miss.status === 'missing' && miss.looked[0]).toContain('(and images/00453/000000000.jpg)');
    await resolver.close();
  });

  it('cuts prefixes for prefixed zips', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(`cc3m=${join(zips, 'cc3m.zip')}`)]);
    expectFound(await resolver.resolve('cc3m/GCC_train_000000001.jpg'));
    await resolver.close();
  });

  it('refuses unsafe entry names with diagnostics instead of failing the archive', async () => {
    const resolver = createImageResolver([parseImageSourceSpec(join(zips, 'unsafe.zip'))]);
    expectFound(await resolver.resolve('ok/fine.jpg'));
    const diagnostics = await resolver.checkSources();
    expect(diagnostics.map((d) => [d.ruleId, d.data?.entry])).toEqual([
      ['images/zip-unsafe-entry', '../evil.jpg'],
      ['images/zip-unsafe-entry', '/abs/abs.jpg'],
    ]);
    expect((await resolver.resolve('../evil.jpg')).status).toBe('refused');
    expect((await resolver.resolve('/abs/abs.jpg')).status).toBe('refused');
    expect((await resolver.resolve('evil.jpg')).status).toBe('missing');
    await resolver.close();
  });

  it('reports archives that cannot be read and keeps looking in later sources', async () => {
    const resolver = createImageResolver([
      parseImageSourceSpec(join(zips, 'broken.zip')),
      parseImageSourceSpec(join(zips, 'missing.zip')),
      parseImageSourceSpec(join(tmp, 'cocoflat')),
    ]);
    expect((await resolver.checkSources()).map((d) => d.ruleId)).toEqual([
      'images/source-unusable',
      'images/source-unusable',
    ]);
    const r = expectFound(await resolver.resolve('000000033471.jpg'));
    expect(r.sourceIndex).toBe(2);
    const miss = await resolver.resolve('x.jpg');
    expect(miss.status === 'missing' && miss.looked[0]).toContain('archive unreadable');
    await resolver.close();
  });

  it.skipIf(!hasZipCli)(
    'reads archives written by the zip command, streamed (data descriptors) and plain',
    async () => {
      const src = join(tmp, 'zipcli');
      await writeTree(src, { 'images/00001/000010001.jpg': jpg, 'images/00001/000010002.png': png });
      execFileSync('zip', ['-q', '-r', join(zips, 'cli.zip'), 'images'], { cwd: src });
      execFileSync('sh', ['-c', `zip -q -r - images | cat > ${JSON.stringify(join(zips, 'cli-stream.zip'))}`], {
        cwd: src,
      });
      for (const name of ['cli.zip', 'cli-stream.zip']) {
        const resolver = createImageResolver([parseImageSourceSpec(join(zips, name))]);
        expect(await resolver.readBytes('00001/000010001.jpg')).toEqual(jpg);
        expect(await resolver.readBytes('images/00001/000010002.png')).toEqual(png);
        await resolver.close();
      }
    },
  );
});

describe('rewriteImagePath', () => {
  it('rewrites in every mode', async () => {
    const resolver = createImageResolver([
      parseImageSourceSpec(`coco/train2017=${join(tmp, 'cocoflat')}`),
      parseImageSourceSpec(join(tmp, 'zips', 'cc3m.zip')),
    ]);
    const ref = 'coco/train2017/000000033471.jpg';
    expect(await rewriteImagePath(ref, 'as-is')).toEqual({ ok: true, path: ref });
    expect(await rewriteImagePath(ref, 'absolute', { resolver })).toEqual({
      ok: true,
      path: join(tmp, 'cocoflat/000000033471.jpg'),
    });
    expect(await rewriteImagePath(ref, 'relative', { resolver, outputDir: join(tmp, 'out') })).toEqual({
      ok: true,
      path: '../cocoflat/000000033471.jpg',
    });
    expect(await rewriteImagePath('000000033471.jpg', parseImagePathMode('prefix=coco/train2017/'))).toEqual({
      ok: true,
      path: 'coco/train2017/000000033471.jpg',
    });
    const inZip = await rewriteImagePath('GCC_train_000000001.jpg', 'absolute', { resolver });
    expect(!inZip.ok && inZip.diagnostic.ruleId).toBe('images/in-archive');
    const missing = await rewriteImagePath('coco/train2017/nope.jpg', 'relative', { resolver, outputDir: tmp });
    expect(!missing.ok && missing.diagnostic.ruleId).toBe('images/missing');
    const outside = await rewriteImagePath('../x.jpg', { prefix: 'a' });
    expect(!outside.ok && outside.diagnostic.ruleId).toBe('images/outside-root');
    expect(() => parseImagePathMode('weird')).toThrow(TypeError);
    await resolver.close();
  });
});
