import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { binPath, runCli, tempDir } from '../../test-utils.js';

const built = existsSync(join(dirname(binPath), '..', 'dist', 'commands', 'images', 'check.js'));

let dir: string;
let cleanup: () => Promise<void>;

const record = (id: string | number, image?: string | string[]) => ({
  id,
  ...(image !== undefined ? { image } : {}),
  conversations: [
    { from: 'human', value: '<image>\nWhat is shown?' },
    { from: 'gpt', value: 'A test image.' },
  ],
});

async function put(path: string, bytes: Uint8Array | string) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

async function zipOf(entries: Record<string, Uint8Array>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of Object.entries(entries)) zip.addBuffer(Buffer.from(bytes), name, { compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('llava-images-check-'));
  const jpeg = encodeTinyImage('jpeg', { width: 32, height: 24 });
  await put(join(dir, 'playground/coco/train2017/000000000001.jpg'), jpeg);
  await put(join(dir, 'playground/gqa/images/1.jpg'), encodeTinyImage('gif', { width: 4, height: 4 }));
  await put(join(dir, 'playground/ocr_vqa/images/a.jpg'), jpeg.subarray(0, jpeg.length - 4));
  await put(join(dir, 'cc3m.zip'), await zipOf({ 'images/GCC_train_000000001.jpg': jpeg }));
  await put(
    join(dir, 'mix.json'),
    JSON.stringify(
      [
        record('000000000001', 'coco/train2017/000000000001.jpg'),
        record(1, 'gqa/images/1.jpg'),
        record('a', 'ocr_vqa/images/a.jpg'),
        record('b', 'ocr_vqa/images/b.jpg'),
        record('text-only'),
        record('evil', '../../etc/passwd'),
        record('multi', ['coco/train2017/000000000001.jpg', 'coco/train2017/000000000002.jpg']),
      ],
      null,
      2,
    ),
  );
  await put(join(dir, 'good.jsonl'), `${JSON.stringify(record('x', 'coco/train2017/000000000001.jpg'))}\n`);
  await put(join(dir, 'cc3m.json'), JSON.stringify([record('GCC_train_000000001', 'GCC_train_000000001.jpg')]));
});
afterAll(() => cleanup?.());

describe.skipIf(!built)('llava images check', () => {
  it('reports per prefix, lists problems and exits 1', async () => {
    const list = join(dir, 'missing.tsv');
    const r = await runCli(['images', 'check', 'mix.json', '--images', 'playground', '--list-missing', list], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Checked 7 image references (6 distinct) from 1 file');
    expect(r.stdout).toMatch(/^coco\/\s+3\s+2\s+2\s+1\s/m);
    expect(r.stdout).toMatch(/^gqa\/\s+1\s+1\s+0\s+0\s+0\s+1\s/m);
    for (const rule of ['images/missing', 'images/format-mismatch', 'images/truncated', 'images/outside-root']) {
      expect(r.stdout).toContain(rule);
    }
    expect(r.stdout).toContain('mix.json:');
    expect(r.stdout).toContain('/image/1');
    expect((await readFile(list, 'utf8')).split('\n').filter(Boolean)).toEqual([
      'gqa/images/1.jpg\tformat-mismatch\t1',
      'ocr_vqa/images/a.jpg\ttruncated\t1',
      'ocr_vqa/images/b.jpg\tmissing\t1',
      '../../etc/passwd\trefused\t1',
      'coco/train2017/000000000002.jpg\tmissing\t1',
    ]);
    expect(r.stderr).not.toContain('\u001b[2K'); // no progress bar when stderr is not a terminal
  });

  it('prints JSON with --json', async () => {
    const r = await runCli(['images', 'check', 'mix.json', '--images', 'playground', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.total).toMatchObject({
      references: 7,
      distinct: 6,
      ok: 2,
      missing: 2,
      refused: 1,
      truncated: 1,
      formatMismatch: 1,
    });
    expect(Object.keys(result.byPrefix)).toEqual(['../', 'coco/', 'gqa/', 'ocr_vqa/']);
    expect(result.diagnostics.find((d: { ruleId: string }) => d.ruleId === 'images/missing')).toMatchObject({
      file: 'mix.json',
      recordIndex: 3,
      recordId: 'b',
      pointer: '/image',
    });
  });

  it('explains every missing image where it looked, in text only the first few per rule', async () => {
    const many = [
      record('one', 'coco/train2017/000000000001.jpg'),
      record('case', 'coco/train2017/000000000001.JPG'),
      ...Array.from({ length: 40 }, (_, i) => record(`m${i}`, `coco/train2017/m-${i}.jpg`)),
    ];
    await put(join(dir, 'many.json'), JSON.stringify(many));
    const text = await runCli(['images', 'check', 'many.json', '-i', 'playground', '--max-per-rule', '3'], {
      cwd: dir,
    });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('images/missing  41 errors');
    expect(text.stdout).toContain('… and 38 more');
    expect(text.stdout).toContain('"000000000001.jpg" exists, differing only in letter case');
    expect(text.stdout).toContain(`looked at ${join(dir, 'playground/coco/train2017/m-0.jpg')}.`);
    expect(text.stdout).not.toContain('m-2.jpg');
    expect(text.stdout).toContain('41 errors, 0 warnings in 41 images.');

    const json = JSON.parse(
      (await runCli(['images', 'check', 'many.json', '-i', 'playground', '--json'], { cwd: dir })).stdout,
    );
    const missing = json.diagnostics.filter((d: { ruleId: string }) => d.ruleId === 'images/missing');
    expect(missing).toHaveLength(41);
    expect(missing.map((d: { recordIndex: number }) => d.recordIndex)).toEqual(
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
    expect(missing[40]).toMatchObject({
      recordId: 'm39',
      data: { ref: 'coco/train2017/m-39.jpg', looked: [join(dir, 'playground/coco/train2017/m-39.jpg')] },
    });
    expect(json.counts).toEqual({ error: 41, warning: 0, info: 0 });
  });

  it('exits 0 when every image is sound, reading zips in place with prefix sources', async () => {
    const ok = await runCli(['images', 'check', 'good.jsonl', '--images', 'coco/train2017=playground/coco/train2017'], {
      cwd: dir,
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('All images found and sound.');
    const zip = await runCli(['images', 'check', 'cc3m.json', '--images', 'cc3m.zip'], { cwd: dir });
    expect(zip.code).toBe(0);
    expect(zip.stdout).toMatch(/^\(bare\)\s+1\s+1\s+1\s/m);
  });

  it('checks a zip archive in the worker: unsafe entries, misses and broken entries', async () => {
    const jpeg = encodeTinyImage('jpeg', { width: 8, height: 8 });
    const zip = await zipOf({
      'GCC_train_000000001.jpg': jpeg,
      'GCC_train_000000002.jpg': jpeg.subarray(0, jpeg.length - 2),
      'xx/evil.jpg': jpeg,
    });
    // yazl refuses to write a `..` name: patch one in (same length)
    const at = zip.indexOf('xx/evil.jpg');
    zip.write('../evil.jpg', at);
    zip.write('../evil.jpg', zip.indexOf('xx/evil.jpg', at + 1));
    await put(join(dir, 'unsafe.zip'), zip);
    await put(
      join(dir, 'unsafe.json'),
      JSON.stringify([1, 2, 3].map((n) => record(n, `GCC_train_00000000${n}.jpg`)).concat([record(4, '../evil.jpg')])),
    );
    const r = await runCli(['images', 'check', 'unsafe.json', '-i', 'unsafe.zip', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.total).toMatchObject({ references: 4, ok: 1, truncated: 1, missing: 1, refused: 1 });
    expect(result.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual([
      'images/zip-unsafe-entry',
      'images/truncated',
      'images/missing',
      'images/outside-root',
    ]);
    expect(result.diagnostics[2].data.looked).toEqual([`${join(dir, 'unsafe.zip')}!GCC_train_000000003.jpg`]);
    expect(result.diagnostics[0].data).toMatchObject({ entry: '../evil.jpg' });

    // a miss in an archive whose entries lie under one top folder: explained here from what the worker learned
    await put(join(dir, 'pretrain.zip'), await zipOf({ 'images/00453/004539375.jpg': jpeg }));
    await put(
      join(dir, 'pretrain.json'),
      JSON.stringify([record('a', '00453/004539375.jpg'), record('b', '00453/000000000.jpg')]),
    );
    const pre = JSON.parse(
      (await runCli(['images', 'check', 'pretrain.json', '-i', 'pretrain.zip', '--json'], { cwd: dir })).stdout,
    );
    expect(pre.total).toMatchObject({ references: 2, ok: 1, missing: 1 });
    expect(pre.diagnostics[0].data.looked).toEqual([
      `${join(dir, 'pretrain.zip')}!00453/000000000.jpg (and images/00453/000000000.jpg)`,
    ]);
  });

  it('fails on warnings only with --strict', async () => {
    await put(join(dir, 'gif.json'), JSON.stringify([record(1, 'gqa/images/1.jpg')]));
    expect((await runCli(['images', 'check', 'gif.json', '--images', 'playground'], { cwd: dir })).code).toBe(0);
    expect(
      (await runCli(['images', 'check', 'gif.json', '--images', 'playground', '--strict'], { cwd: dir })).code,
    ).toBe(1);
  });

  it('exits 2 on a bad --images value', async () => {
    const r = await runCli(['images', 'check', 'mix.json', '--images', '../x=playground'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('prefix');
  });
});
