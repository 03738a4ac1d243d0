import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDirectory, stageFile, temporaryPathFor } from './staged-file.js';

describe('stageFile (atomic outputs)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-staged-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes under a hidden temporary name and renames over the target on commit', async () => {
    const target = join(dir, 'a', 'b', 'out.jsonl');
    const file = await stageFile(target);
    await file.write('one\n');
    await file.write(Buffer.from('two\n'));
    expect(await readdir(join(dir, 'a', 'b'))).toEqual([file.temporary.split('/').at(-1)]);
    expect(file.temporary).toMatch(/\/\.out\.jsonl\.llava-tmp-\d+-[0-9a-f]{8}$/);
    await file.commit();
    expect(await readFile(target, 'utf8')).toBe('one\ntwo\n');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['out.jsonl']);
  });

  it('leaves the old target on discard', async () => {
    const target = join(dir, 'keep.txt');
    await writeFile(target, 'old');
    const file = await stageFile(target);
    await file.write('new');
    await file.discard();
    await file.discard();
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).not.toContain(file.temporary.split('/').at(-1));
  });

  it('says why a folder cannot be made', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(makeDirectory(join(dir, 'file', 'sub'))).rejects.toMatchObject({
      code: expect.stringMatching(/ENOTDIR|EEXIST/),
    });
    await expect(stageFile(join(dir, 'file', 'out.json'))).rejects.toMatchObject({
      code: expect.stringMatching(/ENOTDIR|EEXIST/),
    });
    expect(temporaryPathFor('/x/y.json')).toMatch(/^\/x\/\.y\.json\.llava-tmp-/);
  });

  it('removes the temporary file when the rename fails', async () => {
    const target = join(dir, 'is-a-dir');
    await makeDirectory(join(target, 'inside'));
    const file = await stageFile(target);
    await file.write('x');
    await expect(file.commit()).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect((await readdir(dir)).some((n) => n.includes('llava-tmp'))).toBe(false);
  });
});
