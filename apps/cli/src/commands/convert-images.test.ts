import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { runCli, tempDir } from '../test-utils.js';

const record = (id: string, image?: string) => ({
  id,
  ...(image ? { image } : {}),
  conversations: [
    { from: 'human', value: image ? '<image>\nWhat is shown?' : 'Hello?' },
    { from: 'gpt', value: 'Something.' },
  ],
});

async function writeZip(path: string, entries: Record<string, Uint8Array>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of Object.entries(entries)) zip.addBuffer(Buffer.from(bytes), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await writeFile(path, Buffer.concat(chunks));
}

describe('llava convert with --images (real files, real zip, real CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const jpeg = encodeTinyImage('jpeg', { width: 8, height: 8 });
    const png = encodeTinyImage('png', { width: 4, height: 4 });
    await mkdir(join(dir, 'coco'), { recursive: true });
    await writeFile(join(dir, 'coco/1.jpg'), jpeg);
    await writeFile(join(dir, 'outside.jpg'), jpeg);
    await symlink(join(dir, 'outside.jpg'), join(dir, 'coco/link.jpg'));
    await writeZip(join(dir, 'pretrain.zip'), { 'images/00453/004539375.png': png });
    input = join(dir, 'in.json');
    await writeFile(
      input,
      JSON.stringify([
        record('a', 'coco/train2017/1.jpg'),
        record('b', '00453/004539375.png'),
        record('c', 'coco/train2017/gone.jpg'),
        record('d', '../../etc/passwd'),
        record('e', 'coco/train2017/link.jpg'),
        record('f'),
      ]),
    );
  });
  afterAll(() => cleanup());

  const sources = () => ['--images', `coco/train2017=${join(dir, 'coco')}`, '--images', join(dir, 'pretrain.zip')];

  it('keeps records with missing or refused images by default and reports them', async () => {
    const out = join(dir, 'keep.json');
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', out, ...sources(), '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 6, written: 6, rejected: 0 });
    expect(summary.counts).toMatchObject({ 'images:found': 2, 'images:missing': 1, 'images:refused': 2 });
  });

  it('drops them to the rejects file with --missing-images drop', async () => {
    const out = join(dir, 'drop.json');
    const rejects = join(dir, 'drop.rejects.jsonl');
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      out,
      ...sources(),
      '--missing-images',
      'drop',
      '--rejects',
      rejects,
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 6, written: 3, rejected: 3 });
    const rejected = (await readFile(rejects, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejected.map((r) => [r.record.id, r.diagnostics[0].ruleId, r.diagnostics[0].pointer])).toEqual([
      ['c', 'images/missing', '/image'],
      ['d', 'images/outside-root', '/image'],
      ['e', 'images/outside-root', '/image'],
    ]);
    expect(JSON.parse(await readFile(out, 'utf8')).map((r: { id: string }) => r.id)).toEqual(['a', 'b', 'f']);
  });

  it('stops and writes nothing with --missing-images fail', async () => {
    const out = join(dir, 'fail.json');
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      out,
      ...sources(),
      '--missing-images',
      'fail',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('images/missing');
    expect(result.stderr).toContain('record #2 (id "c")');
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it('rewrites output paths to absolute files; zip entries, which have no path on disk, stay as written', async () => {
    const out = join(dir, 'abs.json');
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      out,
      ...sources(),
      '--image-paths',
      'absolute',
      '-q',
    ]);
    expect(result.code).toBe(0);
    const records = JSON.parse(await readFile(out, 'utf8'));
    expect(records[0].images).toEqual([join(dir, 'coco/1.jpg')]);
    expect(records[1].images).toEqual(['00453/004539375.png']);
  });

  it('embeds image bytes read through the resolver, zip entries included', async () => {
    const out = join(dir, 'embed.jsonl');
    const result = await runCli([
      'convert',
      input,
      '--to',
      'openai',
      '-o',
      out,
      ...sources(),
      '--embed-images',
      '--missing-images',
      'drop',
      '-q',
    ]);
    expect(result.code).toBe(0);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const urls = lines.flatMap((l) =>
      l.messages.flatMap((m: { content: unknown }) =>
        Array.isArray(m.content)
          ? m.content
              .filter((p: { type: string }) => p.type === 'image_url')
              .map((p: { image_url: { url: string } }) => p.image_url.url)
          : [],
      ),
    );
    expect(urls).toHaveLength(2);
    expect(urls[0]).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(urls[1]).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  });

  it('exits 2 for image flags that need sources', async () => {
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      join(dir, 'x.json'),
      '--missing-images',
      'drop',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs --images');
  });
});
