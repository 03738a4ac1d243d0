import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LlavaRecord, SourceRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { b64, duck, lit, tempDir, write } from './__fixtures__/helpers.js';

const jpeg = encodeTinyImage('jpeg', { width: 16, height: 8 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [10, 200, 30] });
const images = new Map([
  ['coco/train2017/1.jpg', jpeg],
  ['gqa/2.png', png],
]);

/** Incompressible bytes (xorshift), so file sizes follow the image bytes. */
function noise(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const turns = (text: string) => [
  { from: 'human', value: `<image>\n${text}` },
  { from: 'gpt', value: `Answer to ${text}` },
];

describe('writeParquet, read back with DuckDB', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(() => cleanup());

  it('writes the Hub layout: data/train-00000-of-00001.parquet with the LLaVA columns, types and metadata', async () => {
    const records: LlavaRecord[] = [
      { id: '1', image: 'coco/train2017/1.jpg', conversations: turns('a'), data_source: 'coco' },
      { id: 2, image: 'gqa/2.png', conversations: turns('b'), data_source: 'gqa' },
      {
        id: 'text',
        conversations: [
          { from: 'human', value: 'hi' },
          { from: 'gpt', value: 'hello' },
        ],
      },
    ];
    const out = join(dir, 'out');
    const seen = await write(records, out, {}, images);
    expect(seen.accepted).toHaveLength(3);
    expect(seen.rejected).toHaveLength(0);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'data']);
    expect(await readdir(join(out, 'data'))).toEqual(['train-00000-of-00001.parquet']);
    // nothing else left beside the output
    expect((await readdir(dir)).sort()).toEqual(['out']);

    const file = lit(join(out, 'data/train-00000-of-00001.parquet'));
    const types = Object.fromEntries(
      (await duck(`DESCRIBE SELECT * FROM read_parquet(${file})`)).map((r) => [r.column_name, r.column_type]),
    );
    expect(types).toEqual({
      id: 'VARCHAR',
      conversations: 'STRUCT("from" VARCHAR, "value" VARCHAR)[]',
      image: 'STRUCT(bytes BLOB, path VARCHAR)',
      data_source: 'VARCHAR',
      llavakit_extra: 'VARCHAR',
    });
    const rows = await duck(
      `SELECT id, to_base64(image.bytes) AS bytes, image.path AS path, conversations[2]."value" AS answer, data_source FROM read_parquet(${file})`,
    );
    expect(rows).toEqual([
      { id: '1', bytes: b64(jpeg), path: 'coco/train2017/1.jpg', answer: 'Answer to a', data_source: 'coco' },
      { id: '2', bytes: b64(png), path: 'gqa/2.png', answer: 'Answer to b', data_source: 'gqa' },
      { id: 'text', bytes: null, path: null, answer: 'hello', data_source: null },
    ]);
    const nullImage = await duck(`SELECT count(*) AS n FROM read_parquet(${file}) WHERE image IS NULL`);
    expect(nullImage).toEqual([{ n: '1' }]);

    const kv = Object.fromEntries(
      (await duck(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${file})`)).map((r) => [
        r.key,
        JSON.parse(String(r.value)),
      ]),
    );
    expect(kv.huggingface).toEqual({
      info: {
        features: {
          id: { dtype: 'string', _type: 'Value' },
          conversations: [{ from: { dtype: 'string', _type: 'Value' }, value: { dtype: 'string', _type: 'Value' } }],
          image: { _type: 'Image' },
          data_source: { dtype: 'string', _type: 'Value' },
          llavakit_extra: { dtype: 'string', _type: 'Value' },
        },
      },
    });
    const codecs = await duck(`SELECT DISTINCT compression FROM parquet_metadata(${file})`);
    expect(codecs).toEqual([{ compression: 'SNAPPY' }]);

    const card = await readFile(join(out, 'README.md'), 'utf8');
    expect(card).toMatch(
      /^---\nconfigs:\n- config_name: default\n {2}data_files:\n {2}- split: train\n {4}path: data\/train-\*\n/,
    );
    expect(card).toContain('  - name: image\n    dtype: image\n');
    expect(card).toContain('    num_examples: 3\n');
  });

  it('cuts row groups at row-group-rows and at row-group-bytes, and shards at shard-bytes', async () => {
    const many = new Map<string, Uint8Array>();
    const records: LlavaRecord[] = [];
    for (let i = 0; i < 25; i++) {
      many.set(`${i}.bin`, noise(30_000, i + 1));
      records.push({ id: String(i), image: `${i}.bin`, conversations: turns(String(i)) });
    }
    const byRows = join(dir, 'rows.parquet');
    await write(records, byRows, { rowGroupRows: 10 }, many);
    const groups = await duck(
      `SELECT DISTINCT row_group_id::INT AS g, row_group_num_rows::INT AS n FROM parquet_metadata(${lit(byRows)}) ORDER BY g`,
    );
    expect(groups.map((g) => g.n)).toEqual([10, 10, 5]);

    const byBytes = join(dir, 'bytes.parquet');
    await write(records, byBytes, { rowGroupRows: 100, rowGroupBytes: 100_000 }, many);
    const sized = await duck(
      `SELECT DISTINCT row_group_id::INT AS g, row_group_num_rows::INT AS n FROM parquet_metadata(${lit(byBytes)}) ORDER BY g`,
    );
    // 30 KB images, 100 KB per group: three rows fit, the fourth would not
    expect(sized.map((g) => g.n)).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 1]);

    const sharded = join(dir, 'hub');
    const seen = await write(records, sharded, { rowGroupRows: 5, shardBytes: 200_000, split: 'validation' }, many);
    const shards = (await readdir(join(sharded, 'data'))).sort();
    // 150 KB per row group of 5, 200 KB per shard: one row group per shard
    expect(shards).toEqual([0, 1, 2, 3, 4].map((i) => `validation-0000${i}-of-00005.parquet`));
    expect(seen.counts['parquet:shards']).toBe(5);
    const total = await duck(`SELECT count(*)::INT AS n FROM read_parquet(${lit(join(sharded, 'data/*.parquet'))})`);
    expect(total).toEqual([{ n: 25 }]);
    const card = await readFile(join(sharded, 'README.md'), 'utf8');
    expect(card).toContain('  - split: validation\n    path: data/validation-*\n');
  });

  it('sizes row groups like `datasets`: 1,000 rows, 100 with embedded images, 100 MB, whichever comes first', async () => {
    const groups = async (file: string) =>
      (
        await duck(
          `SELECT DISTINCT row_group_id::INT AS g, row_group_num_rows::INT AS n FROM parquet_metadata(${lit(file)}) ORDER BY g`,
        )
      ).map((g) => g.n);
    // text-only rows (and rows whose image could not be read): 1,000 per row group
    const text: LlavaRecord[] = [];
    for (let i = 0; i < 2_500; i++) {
      text.push({ id: String(i), ...(i % 2 ? { image: 'missing.jpg' } : {}), conversations: turns(String(i)) });
    }
    const textFile = join(dir, 'text.parquet');
    const seen = await write(text, textFile);
    expect(seen.accepted).toHaveLength(2_500);
    expect(await groups(textFile)).toEqual([1000, 1000, 500]);
    // rows with embedded images: 100 of them per row group; text rows in between do not count
    const mixed: LlavaRecord[] = [];
    for (let i = 0; i < 450; i++) {
      mixed.push({ id: String(i), ...(i % 3 ? {} : { image: 'gqa/2.png' }), conversations: turns(String(i)) });
    }
    const mixedFile = join(dir, 'mixed.parquet');
    await write(mixed, mixedFile, {}, images);
    expect(await groups(mixedFile)).toEqual([298, 152]);
    // the long texts keep no min/max per row group; ids do
    const stats = await duck(
      `SELECT DISTINCT path_in_schema AS p, stats_min_value IS NOT NULL AS has FROM parquet_metadata(${lit(textFile)}) ORDER BY p`,
    );
    expect(Object.fromEntries(stats.map((r) => [r.p, r.has]))).toMatchObject({
      id: true,
      'conversations, list, element, from': false,
      'conversations, list, element, value': false,
    });
  });

  it('writes `images` (a list of Image) when records hold several, and keeps extra keys as typed or JSON columns', async () => {
    const records: LlavaRecord[] = [
      {
        id: 'm',
        image: ['coco/train2017/1.jpg', 'gqa/2.png'],
        conversations: turns('two'),
        score: 0.5,
        n: 3,
        ok: true,
        meta: { a: [1, 2] },
      },
      { id: 's', image: 'gqa/2.png', conversations: turns('one'), score: 1, n: 4, ok: false, meta: 'text' },
      { id: 't', conversations: turns('none') },
    ];
    const file = join(dir, 'multi.parquet');
    await write(records, file, {}, images);
    const types = Object.fromEntries(
      (await duck(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`)).map((r) => [r.column_name, r.column_type]),
    );
    expect(types).toMatchObject({
      images: 'STRUCT(bytes BLOB, path VARCHAR)[]',
      score: 'DOUBLE',
      n: 'BIGINT',
      ok: 'BOOLEAN',
      meta: 'VARCHAR',
    });
    const rows = await duck(
      `SELECT id, len(images)::INT AS k, to_base64(images[2].bytes) AS second, n::INT AS n, meta FROM read_parquet(${lit(file)})`,
    );
    expect(rows).toEqual([
      { id: 'm', k: 2, second: b64(png), n: 3, meta: '{"a":[1,2]}' },
      { id: 's', k: 1, second: null, n: 4, meta: '"text"' },
      { id: 't', k: null, second: null, n: null, meta: null },
    ]);
    const kv = await duck(
      `SELECT decode(value) AS v FROM parquet_kv_metadata(${lit(file)}) WHERE decode(key) = 'huggingface'`,
    );
    expect(JSON.parse(String(kv[0]?.v)).info.features.images).toEqual([{ _type: 'Image' }]);
  });

  it('rejects a multi-image record in a file with one `image` column, and writes path-only cells for unreadable images', async () => {
    const records: LlavaRecord[] = [
      { id: 'a', image: 'coco/train2017/1.jpg', conversations: turns('a') },
      { id: 'b', image: ['coco/train2017/1.jpg', 'gqa/2.png'], conversations: turns('b') },
      { id: 'c', image: 'missing.jpg', conversations: turns('c') },
    ];
    const file = join(dir, 'one.parquet');
    const seen = await write(records, file, { imageLayout: 'image' }, images);
    expect(seen.accepted.map((s) => s.record.id)).toEqual(['a', 'c']);
    expect(seen.rejected.map((r) => [r.source.record.id, r.diagnostics[0]?.ruleId])).toEqual([
      ['b', 'parquet/image-layout'],
    ]);
    expect(seen.reports.map((d) => d.ruleId)).toEqual(['parquet/image-not-embedded']);
    const rows = await duck(
      `SELECT id, image.bytes IS NULL AS nobytes, image.path AS path FROM read_parquet(${lit(file)})`,
    );
    expect(rows).toEqual([
      { id: 'a', nobytes: false, path: 'coco/train2017/1.jpg' },
      { id: 'c', nobytes: true, path: 'missing.jpg' },
    ]);
  });

  it('leaves nothing behind when the input fails midway, and refuses a folder that already holds data', async () => {
    const failing = (async function* (): AsyncGenerator<SourceRecord> {
      for (let i = 0; i < 250; i++) {
        if (i === 230) throw new Error('input broke');
        yield { record: { id: String(i), conversations: turns(String(i)) }, index: i, file: 'in.json' };
      }
    })();
    await expect(write(failing, join(dir, 'out'), { rowGroupRows: 10 })).rejects.toThrow('input broke');
    expect(await readdir(dir)).toEqual([]);

    await mkdir(join(dir, 'taken'));
    await writeFile(join(dir, 'taken', 'README.md'), '# mine\n');
    await expect(write([{ conversations: turns('x') }], join(dir, 'taken'))).rejects.toThrow(
      /already holds README\.md/,
    );
    expect((await readdir(dir)).sort()).toEqual(['taken']);
    expect(await readdir(join(dir, 'taken'))).toEqual(['README.md']);

    // A fresh clone of a Hub repository (dot-files only) receives data/ and README.md.
    await mkdir(join(dir, 'clone'));
    await writeFile(join(dir, 'clone', '.gitattributes'), '*.parquet filter=lfs\n');
    await write([{ conversations: turns('x') }], join(dir, 'clone'));
    expect((await readdir(join(dir, 'clone'))).sort()).toEqual(['.gitattributes', 'README.md', 'data']);
  });

  it('writes a valid empty file for zero records', async () => {
    const file = join(dir, 'empty.parquet');
    await write([], file);
    expect(await duck(`SELECT count(*)::INT AS n FROM read_parquet(${lit(file)})`)).toEqual([{ n: 0 }]);
  });
});
