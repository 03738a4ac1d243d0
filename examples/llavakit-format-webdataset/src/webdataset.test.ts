import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webDatasetFormat, { imageExtension, TarWriter, webDatasetOptionsSchema } from './index.js';

type Source = Parameters<NonNullable<typeof webDatasetFormat.write>>[0] extends AsyncIterable<infer T> ? T : never;
type Context = Parameters<NonNullable<typeof webDatasetFormat.write>>[1];

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);

function tar(args: string[]): string {
  return execFileSync('tar', args, { encoding: 'utf8' });
}

async function* sources(records: Source['record'][]): AsyncGenerator<Source> {
  for (const [index, record] of records.entries()) yield { record, index, file: 'in.json' };
}

function context(output: string, options: Record<string, unknown>, images: Record<string, Uint8Array>) {
  const log = {
    accepted: [] as number[],
    rejected: [] as { index: number; ruleIds: string[] }[],
    reports: [] as string[],
  };
  const counts: Record<string, number> = {};
  const value: Context = {
    options: webDatasetOptionsSchema.parse(options),
    file: output,
    output: { path: output },
    report: (d) => log.reports.push(d.ruleId),
    count: (event, by = 1) => {
      counts[event] = (counts[event] ?? 0) + by;
    },
    images: { rewrite: (p) => p, readBytes: async (p) => images[p] },
    accept: (s) => log.accepted.push(s.index),
    reject: (s, diagnostics) => log.rejected.push({ index: s.index, ruleIds: diagnostics.map((d) => d.ruleId) }),
  };
  return { value, log, counts };
}

const turns = (text: string) => [
  { from: 'human', value: `<image>\n${text}` },
  { from: 'gpt', value: 'ok' },
];

describe('webdataset writer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-wds-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes NNNNNN.<ext> + NNNNNN.json samples into shards of shard-size, readable by tar', async () => {
    const out = join(dir, 'basic');
    const records = [
      { id: 'a', image: 'a.jpg', conversations: turns('one') },
      { id: 2, image: 'b.png', conversations: turns('two') },
      { id: 'c', image: 'a.jpg', conversations: turns('three') },
      {
        id: 'd',
        conversations: [
          { from: 'human', value: 'text only' },
          { from: 'gpt', value: 'yes' },
        ],
      },
      { id: 'e', image: ['a.jpg', 'b.png'], conversations: turns('two images <image>') },
    ];
    const { value, log, counts } = context(out, { shardSize: 2 }, { 'a.jpg': JPEG, 'b.png': PNG });
    await webDatasetFormat.write(sources(records), value);
    expect(log.accepted).toEqual([0, 1, 2, 3, 4]);
    expect(log.rejected).toEqual([]);
    expect(counts['webdataset:shards']).toBe(3);
    expect((await readdir(out)).sort()).toEqual(['shard-000000.tar', 'shard-000001.tar', 'shard-000002.tar']);
    expect(
      tar(['-tf', join(out, 'shard-000000.tar')])
        .trim()
        .split('\n'),
    ).toEqual(['000000.jpg', '000000.json', '000001.png', '000001.json']);
    expect(
      tar(['-tf', join(out, 'shard-000002.tar')])
        .trim()
        .split('\n'),
    ).toEqual(['000004.0.jpg', '000004.1.png', '000004.json']);
    const first = JSON.parse(tar(['-xOf', join(out, 'shard-000000.tar'), '000000.json']));
    expect(first).toEqual({ id: 'a', image: '000000.jpg', conversations: records[0]!.conversations });
    const textOnly = JSON.parse(tar(['-xOf', join(out, 'shard-000001.tar'), '000003.json']));
    expect(textOnly).not.toHaveProperty('image');
    const multi = JSON.parse(tar(['-xOf', join(out, 'shard-000002.tar'), '000004.json']));
    expect(multi.image).toEqual(['000004.0.jpg', '000004.1.png']);
    const bytes = execFileSync('tar', ['-xOf', join(out, 'shard-000000.tar'), '000001.png']);
    expect(new Uint8Array(bytes)).toEqual(PNG);
  });

  it('rejects records whose image is missing (or writes them without it), and records past max-shards', async () => {
    const records = [
      { id: 1, image: 'a.jpg', conversations: turns('1') },
      { id: 2, image: 'missing.jpg', conversations: turns('2') },
      { id: 3, image: 'a.jpg', conversations: turns('3') },
      { id: 4, image: 'a.jpg', conversations: turns('4') },
    ];
    const strict = context(join(dir, 'strict'), { shardSize: 1, maxShards: 2 }, { 'a.jpg': JPEG });
    await webDatasetFormat.write(sources(records), strict.value);
    expect(strict.log.accepted).toEqual([0, 2]);
    expect(strict.log.rejected).toEqual([
      { index: 1, ruleIds: ['webdataset/image-missing'] },
      { index: 3, ruleIds: ['webdataset/shard-limit'] },
    ]);
    const lenient = context(join(dir, 'lenient'), { requireImages: false }, { 'a.jpg': JPEG });
    await webDatasetFormat.write(sources(records), lenient.value);
    expect(lenient.log.accepted).toEqual([0, 1, 2, 3]);
    expect(lenient.log.reports).toEqual(['webdataset/image-missing']);
    expect(tar(['-tf', join(dir, 'lenient', 'shard-000000.tar')])).toContain('000001.json\n000002.jpg');
  });

  it('starts a new shard before shard-max-bytes would be exceeded', async () => {
    const big = new Uint8Array(3000).fill(7);
    big.set(JPEG.subarray(0, 3));
    const records = [1, 2, 3].map((id) => ({ id, image: 'big.jpg', conversations: turns(String(id)) }));
    const { value } = context(join(dir, 'bytes'), { shardMaxBytes: 8000 }, { 'big.jpg': big });
    await webDatasetFormat.write(sources(records), value);
    const shards = (await readdir(join(dir, 'bytes'))).sort();
    expect(shards).toHaveLength(3);
    for (const shard of shards) expect((await readFile(join(dir, 'bytes', shard))).length).toBeLessThanOrEqual(8000);
  });

  it('leaves nothing behind and keeps an existing non-empty output when it cannot finish', async () => {
    const out = join(dir, 'taken');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'mine');
    const { value } = context(out, {}, { 'a.jpg': JPEG });
    await expect(
      webDatasetFormat.write(sources([{ id: 1, image: 'a.jpg', conversations: turns('x') }]), value),
    ).rejects.toThrow(/not an empty folder/);
    expect(await readdir(out)).toEqual(['keep.txt']);
    expect((await readdir(dir)).filter((name) => name.includes('.partial-'))).toEqual([]);
    await expect(webDatasetFormat.write(sources([]), context('-', {}, {}).value)).rejects.toThrow(/-o <folder>/);
  });

  it('names images by their magic bytes, else by their source extension', () => {
    expect(imageExtension(JPEG, 'x.png')).toBe('jpg');
    expect(imageExtension(PNG, 'x')).toBe('png');
    expect(imageExtension(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '), 'x')).toBe('webp');
    expect(imageExtension(new Uint8Array([1, 2]), 'dir.v2/photo.TIFF')).toBe('tiff');
    expect(imageExtension(new Uint8Array([1, 2]), 'dir.v2/photo')).toBe('bin');
  });

  it('tar archives round-trip any member names (incl. long ones) and contents through system tar', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.record({
            name: fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,40}(\/[a-z0-9_-]{1,60}){0,2}$/),
            size: fc.nat({ max: 1500 }),
          }),
          { minLength: 1, maxLength: 5, selector: (entry) => entry.name },
        ),
        async (entries) => {
          const folder = join(dir, `prop-${run++}`);
          await mkdir(folder);
          const path = join(folder, 'x.tar');
          const writer = await TarWriter.create(path);
          const files = entries.filter((e, i) => !entries.some((o, j) => j !== i && o.name.startsWith(`${e.name}/`)));
          for (const [i, entry] of files.entries())
            await writer.add(entry.name, new Uint8Array(entry.size).fill(i + 1));
          await writer.close();
          expect(tar(['-tf', path]).trim().split('\n')).toEqual(files.map((e) => e.name));
          for (const [i, entry] of files.entries()) {
            const data = execFileSync('tar', ['-xOf', path, entry.name]);
            expect(data.length).toBe(entry.size);
            if (entry.size > 0) expect(data[entry.size - 1]).toBe(i + 1);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
