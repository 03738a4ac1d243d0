import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatContext, LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import { type ParquetOptions, parquetOptionsSchema, readParquet, writeParquet } from '@llavakit/format-parquet';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';

const jpeg = encodeTinyImage('jpeg', { width: 8, height: 6 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [0, 90, 200] });

const turns = (q: string) => [
  { from: 'human', value: `<image>\n${q}` },
  { from: 'gpt', value: `It is ${q}.` },
];

const records: LlavaRecord[] = [
  { id: '000000033471', image: 'coco/train2017/000000033471.jpg', conversations: turns('a bus'), data_source: 'coco' },
  { id: 2354786, image: 'gqa/images/2354786.jpg', conversations: turns('a png named .jpg'), data_source: 'gqa' },
  {
    id: 'text-only',
    conversations: [
      { from: 'human', value: 'Hi' },
      { from: 'gpt', value: 'Hello' },
    ],
    model: 'x',
  },
];

/** Write a Parquet file with the library (paths that a hostile file could carry). */
async function writeRaw(file: string, rows: LlavaRecord[], bytes: Map<string, Uint8Array>): Promise<void> {
  const context: WriteContext<ParquetOptions> = {
    options: parquetOptionsSchema.parse({}),
    file,
    output: { path: file },
    report: () => {},
    count: () => {},
    images: { rewrite: (p) => p, readBytes: async (p) => bytes.get(p) },
    accept: () => {},
    reject: () => {},
  };
  await writeParquet(
    (async function* (): AsyncGenerator<SourceRecord> {
      for (const [index, record] of rows.entries()) yield { record, index, file: 'raw' };
    })(),
    context,
  );
}

async function readBack(input: string) {
  const context: FormatContext<ParquetOptions> = {
    options: parquetOptionsSchema.parse({}),
    file: input,
    report: () => {},
    count: () => {},
    images: { rewrite: (p) => p, readBytes: async () => undefined },
  };
  const out = [];
  for await (const r of readParquet(input, context)) out.push(r);
  return out;
}

describe('llava convert to and from Parquet (real CLI, core plugin)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'img/coco/train2017'), { recursive: true });
    await mkdir(join(dir, 'img/gqa/images'), { recursive: true });
    await writeFile(join(dir, 'img/coco/train2017/000000033471.jpg'), jpeg);
    await writeFile(join(dir, 'img/gqa/images/2354786.jpg'), png);
    await writeFile(join(dir, 'data.json'), JSON.stringify(records));
  });
  afterAll(() => cleanup());

  it('llava → parquet folder → llava with --extract-images gives back the records and byte-identical images', async () => {
    const out = await runCli(
      ['convert', 'data.json', '--to', 'parquet', '-o', 'hub/', '--images', 'img', '--missing-images', 'fail'],
      { cwd: dir },
    );
    expect(out.stderr).toContain('read 3, written 3, rejected 0');
    expect(out.code).toBe(0);
    expect((await readdir(join(dir, 'hub'))).sort()).toEqual(['README.md', 'data']);

    // detected as Parquet from its magic (no --from)
    const back = await runCli(
      [
        'convert',
        'hub/data/train-00000-of-00001.parquet',
        '--to',
        'llava',
        '-o',
        'back/data.json',
        '--extract-images',
        'back/images',
      ],
      { cwd: dir },
    );
    expect(back.stderr).toContain('Converted parquet → llava');
    expect(back.stderr).toContain('images:extracted: 2');
    expect(back.code).toBe(0);
    const again = JSON.parse(await readFile(join(dir, 'back/data.json'), 'utf8')) as LlavaRecord[];
    expect(again).toEqual([
      { ...records[0], image: 'images/coco/train2017/000000033471.jpg' },
      { ...records[1], image: 'images/gqa/images/2354786.png' },
      records[2],
    ]);
    expect(new Uint8Array(await readFile(join(dir, 'back/images/coco/train2017/000000033471.jpg')))).toEqual(jpeg);
    expect(new Uint8Array(await readFile(join(dir, 'back/images/gqa/images/2354786.png')))).toEqual(png);
    expect((await readdir(join(dir, 'back'))).sort()).toEqual(['data.json', 'images']);
  });

  it('stores each row its own rewritten path (--image-paths absolute), image reads running ahead', async () => {
    const many: LlavaRecord[] = [];
    for (let i = 0; i < 80; i++) {
      many.push({
        id: `r${i}`,
        image: i % 2 ? 'coco/train2017/000000033471.jpg' : 'gqa/images/2354786.jpg',
        conversations: turns(String(i)),
      });
    }
    await writeFile(join(dir, 'many.json'), JSON.stringify(many));
    const run = await runCli(
      [
        'convert',
        'many.json',
        '--to',
        'parquet',
        '-o',
        'abs.parquet',
        '--images',
        'img',
        '--image-paths',
        'absolute',
        '-O',
        'row-group-rows=7',
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    const rows = await readBack(join(dir, 'abs.parquet'));
    expect(rows.map((r) => r.ok && r.record.image)).toEqual(many.map((r) => join(dir, 'img', r.image as string)));
    for (const [i, r] of rows.entries()) {
      expect(r.ok && r.embedded?.get(r.record.image as string)).toEqual(i % 2 ? jpeg : png);
    }
  });

  it('extracts for --to messages and swift too: their image columns point into the folder', async () => {
    for (const to of ['messages', 'swift']) {
      const run = await runCli(
        [
          'convert',
          'hub',
          '--from',
          'parquet',
          '--to',
          to,
          '-o',
          `${to}/out.jsonl`,
          '--extract-images',
          `${to}/images`,
        ],
        { cwd: dir },
      );
      expect(run.code).toBe(0);
      const rows = (await readFile(join(dir, to, 'out.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { images?: string[] });
      expect(rows.map((r) => r.images ?? [])).toEqual([
        ['images/coco/train2017/000000033471.jpg'],
        ['images/gqa/images/2354786.png'],
        [],
      ]);
      expect(new Uint8Array(await readFile(join(dir, to, 'images/gqa/images/2354786.png')))).toEqual(png);
    }
  });

  it('counts each record against its own input when several inputs share one Parquet row group', async () => {
    await writeFile(join(dir, 'part2.json'), JSON.stringify([records[2], { ...records[2], id: 'text-2' }]));
    const run = await runCli(
      ['convert', 'data.json', 'part2.json', '--to', 'parquet', '-o', 'two.parquet', '--images', 'img', '--json'],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      read: number;
      written: number;
      inputs: { read: number; written: number }[];
    };
    expect([summary.read, summary.written]).toEqual([5, 5]);
    expect(summary.inputs.map((i) => [i.read, i.written])).toEqual([
      [3, 3],
      [2, 2],
    ]);
  });

  it('never writes an embedded path outside the extraction folder', async () => {
    const hostile = join(dir, 'hostile.parquet');
    await writeRaw(
      hostile,
      [
        { id: 'up', image: '../../../escaped.jpg', conversations: turns('up') },
        { id: 'abs', image: `${dir}/abs.jpg`, conversations: turns('abs') },
      ],
      new Map([
        ['../../../escaped.jpg', jpeg],
        [`${dir}/abs.jpg`, png],
      ]),
    );
    const run = await runCli(
      [
        'convert',
        'hostile.parquet',
        '--from',
        'parquet',
        '--to',
        'sharegpt',
        '-o',
        'safe/out.json',
        '--extract-images',
        'safe/images',
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    const written = JSON.parse(await readFile(join(dir, 'safe/out.json'), 'utf8')) as { images: string[] }[];
    expect(written.map((r) => r.images)).toEqual([['images/escaped.jpg'], [`images/${dir.slice(1)}/abs.png`]]);
    expect(await readdir(join(dir, 'safe/images'))).toEqual(expect.arrayContaining(['escaped.jpg']));
    const top = await readdir(dir);
    expect(top).not.toContain('escaped.jpg');
    expect(top).not.toContain('abs.jpg');
  });

  it('embeds the Parquet bytes straight into data URLs (--to openai --embed-images) and re-shards keeping them', async () => {
    const openai = await runCli(
      ['convert', 'hub', '--from', 'parquet', '--to', 'openai', '--embed-images', '-o', 'ft.jsonl'],
      { cwd: dir },
    );
    expect(openai.code).toBe(0);
    const lines = (await readFile(join(dir, 'ft.jsonl'), 'utf8')).trim().split('\n');
    expect(lines[0]).toContain(`data:image/jpeg;base64,${Buffer.from(jpeg).toString('base64')}`);
    expect(lines[1]).toContain(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);

    const reshard = await runCli(
      ['convert', 'hub/data/*.parquet', '--from', 'parquet', '--to', 'parquet', '-o', 'resharded/', '-O', 'split=test'],
      { cwd: dir },
    );
    expect(reshard.code).toBe(0);
    expect(reshard.stderr).not.toContain('embedded-not-extracted');
    expect(await readdir(join(dir, 'resharded/data'))).toEqual(['test-00000-of-00001.parquet']);
    const rows = await readBack(join(dir, 'resharded'));
    const first = rows[0]!;
    expect(first.ok && first.embedded?.get('coco/train2017/000000033471.jpg')).toEqual(jpeg);
  });

  it('warns when embedded images would be lost, and writes nothing when a row is rejected with --on-invalid fail', async () => {
    const lost = await runCli(['convert', 'hub', '--from', 'parquet', '--to', 'llava', '-o', 'lost.json'], {
      cwd: dir,
    });
    expect(lost.code).toBe(0);
    expect(lost.stderr).toContain('[images/embedded-not-extracted]');

    const bad = join(dir, 'bad.parquet');
    await writeRaw(
      bad,
      [
        { id: 'ok', image: 'a.png', conversations: turns('ok') },
        { id: 'no-turns', conversations: [] },
      ],
      new Map([['a.png', png]]),
    );
    // the second row has no turns: --validate rejects it, --on-invalid fail stops the conversion
    const fail = await runCli(
      [
        'convert',
        'bad.parquet',
        '--to',
        'llava',
        '-o',
        'failed/out.json',
        '--extract-images',
        'failed/images',
        '--validate',
        '--on-invalid',
        'fail',
      ],
      { cwd: dir },
    );
    expect(fail.code).toBe(1);
    expect(fail.stderr).toContain('nothing was written');
    // neither the output nor any extracted image (nor a temporary folder) is left
    expect(await readdir(join(dir, 'failed')).catch(() => [])).toEqual([]);
  });
});
