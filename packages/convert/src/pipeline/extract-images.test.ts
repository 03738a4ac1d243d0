import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImageExtractor, safeImageName } from './extract-images.js';

const png = encodeTinyImage('png', { width: 2, height: 2 });
const otherPng = encodeTinyImage('png', { width: 3, height: 2 });
const jpeg = encodeTinyImage('jpeg', { width: 2, height: 2 });

const source = (index: number, image: string | string[], embedded: Record<string, Uint8Array>): SourceRecord => ({
  record: { id: `r${index}`, image, conversations: [{ from: 'human', value: '<image>' }] },
  index,
  file: 'in.parquet',
  embedded: new Map(Object.entries(embedded)),
});

async function listAll(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listAll(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe('safeImageName', () => {
  it('keeps safe subfolders, drops .., roots and drives, and names the real format', () => {
    expect(safeImageName('coco/train2017/1.jpg', jpeg, 'x')).toBe('coco/train2017/1.jpg');
    expect(safeImageName('../../etc/passwd', png, 'x')).toBe('etc/passwd.png');
    expect(safeImageName('/abs/olute.jpg', png, 'x')).toBe('abs/olute.png');
    expect(safeImageName('C:\\Users\\me\\..\\a b.jpg', jpeg, 'x')).toBe('Users/me/a_b.jpg');
    expect(safeImageName('.hidden/.x.jpg', jpeg, 'x')).toBe('hidden/x.jpg');
    expect(safeImageName('../..', jpeg, 'id 7')).toBe('id_7.jpg');
    expect(safeImageName('notes.txt', new TextEncoder().encode('hello'), 'x')).toBe('notes.txt');
    expect(safeImageName('blob', new TextEncoder().encode('hello'), 'x')).toBe('blob.bin');
  });
});

describe('createImageExtractor', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-extract-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes unique names inside the folder only on commit, and points the records there', async () => {
    const target = join(dir, 'images');
    await mkdir(target);
    await writeFile(join(target, 'taken.jpg'), 'old');
    const extractor = createImageExtractor({ dir: target, pathPrefix: 'images' });
    const a = await extractor.extract(source(0, 'x.jpg', { 'x.jpg': png }));
    const b = await extractor.extract(source(1, ['x.jpg', '../../x.jpg'], { 'x.jpg': otherPng, '../../x.jpg': jpeg }));
    const c = await extractor.extract(source(2, 'taken.jpg', { 'taken.jpg': jpeg }));
    // the same bytes under the same name again (one image in several rows): one file, one path
    const d = await extractor.extract(source(3, 'x.jpg', { 'x.jpg': png }));
    expect(d.record.image).toBe('images/x.png');
    expect(a.record.image).toBe('images/x.png');
    expect(b.record.image).toEqual(['images/x-1.png', 'images/x.jpg']);
    expect(c.record.image).toBe('images/taken-1.jpg');
    expect(b.embedded?.get('images/x.jpg')).toBe(jpeg);
    // nothing in the folder yet
    expect(await listAll(target)).toEqual(['taken.jpg']);
    await extractor.commit();
    expect(await listAll(target)).toEqual(['taken-1.jpg', 'taken.jpg', 'x-1.png', 'x.jpg', 'x.png']);
    expect(await readFile(join(target, 'taken.jpg'), 'utf8')).toBe('old');
    expect(new Uint8Array(await readFile(join(target, 'x.jpg')))).toEqual(jpeg);
    expect(await readdir(dir)).toEqual(['images']);
    expect(extractor.written).toBe(4);
  });

  it('refuses to follow a symbolic link inside the folder out of it', async () => {
    const target = join(dir, 'images');
    await mkdir(join(dir, 'elsewhere'));
    await mkdir(target);
    await symlink(join(dir, 'elsewhere'), join(target, 'coco'));
    const extractor = createImageExtractor({ dir: target });
    await extractor.extract(source(0, 'coco/1.png', { 'coco/1.png': png }));
    await expect(extractor.commit()).rejects.toThrow(/not a folder/);
    expect(await readdir(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('leaves nothing on abort', async () => {
    const extractor = createImageExtractor({ dir: join(dir, 'new/images') });
    await extractor.extract(source(0, 'a.png', { 'a.png': png }));
    await extractor.abort();
    expect(await readdir(join(dir, 'new'))).toEqual([]);
  });
});
