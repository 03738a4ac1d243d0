import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, blob, duck, lit, read, tempDir } from './__fixtures__/helpers.js';
import { parquetFormat } from './index.js';

const jpeg = encodeTinyImage('jpeg', { width: 16, height: 8 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [10, 200, 30] });

const conv = (q: string) =>
  `[{'from': 'human', 'value': ${lit(`<image>\n${q}`)}}, {'from': 'gpt', 'value': ${lit(`A ${q}`)}}]`;

describe('readParquet on Parquet files DuckDB writes in the Hub shapes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'hub/data'), { recursive: true });
    // LLaVA-NeXT-Data shape: id, conversations (list of struct), data_source, image {bytes, path}; a null image.
    await duck(`COPY (SELECT * FROM (VALUES
        ('000000033471', ${conv('one')}, 'coco', {'bytes': ${blob(jpeg)}, 'path': '000000033471.jpg'}),
        ('text-1', ${conv('two')}, 'sharegpt', NULL),
        ('gqa-3', ${conv('three')}, 'gqa', {'bytes': ${blob(png)}, 'path': NULL})
      ) t(id, conversations, data_source, image))
      TO ${lit(join(dir, 'hub/data/train-00000-of-00002.parquet'))} (FORMAT parquet, ROW_GROUP_SIZE 2)`);
    await duck(`COPY (SELECT * FROM (VALUES
        ('000000000009', ${conv('four')}, 'coco', {'bytes': ${blob(png)}, 'path': 'looks-like.jpg'})
      ) t(id, conversations, data_source, image))
      TO ${lit(join(dir, 'hub/data/train-00001-of-00002.parquet'))} (FORMAT parquet)`);
    // Integer ids, an `images` list (two, one, empty, null).
    await duck(`COPY (SELECT * FROM (VALUES
        (7, ${conv('many')}, [{'bytes': ${blob(jpeg)}, 'path': 'a.jpg'}, {'bytes': ${blob(png)}, 'path': 'b.png'}]),
        (8, ${conv('single')}, [{'bytes': ${blob(png)}, 'path': 'c.png'}]),
        (9, ${conv('empty')}, []),
        (10, ${conv('null')}, NULL)
      ) t(id, conversations, images))
      TO ${lit(join(dir, 'multi.parquet'))} (FORMAT parquet)`);
    // A row without conversations, one whose turn has no value.
    await duck(`COPY (SELECT * FROM (VALUES
        ('ok', ${conv('fine')}),
        ('none', NULL),
        ('bad', [{'from': 'human', 'value': NULL}])
      ) t(id, conversations))
      TO ${lit(join(dir, 'bad.parquet'))} (FORMAT parquet)`);
    await writeFile(join(dir, 'fake.parquet'), '{"not": "parquet"}\n');
  });
  afterAll(() => cleanup());

  it('reads a Hub folder (every shard, row group by row group): ids, turns, extra columns, embedded bytes, null images', async () => {
    const results = await read(join(dir, 'hub'));
    expect(results.every((r) => r.ok)).toBe(true);
    const records = results.map((r) => (r.ok ? r : undefined)!);
    expect(records.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(records[0]!.record).toEqual({
      id: '000000033471',
      image: '000000033471.jpg',
      conversations: [
        { from: 'human', value: '<image>\none' },
        { from: 'gpt', value: 'A one' },
      ],
      data_source: 'coco',
    });
    expect(b64(records[0]!.embedded?.get('000000033471.jpg'))).toBe(b64(jpeg));
    expect(records[1]!.record).not.toHaveProperty('image');
    expect(records[1]!.embedded).toBeUndefined();
    // no embedded path: named after the id, with the sniffed extension
    expect(records[2]!.record.image).toBe('gqa-3.png');
    expect(b64(records[2]!.embedded?.get('gqa-3.png'))).toBe(b64(png));
    expect(records[3]!.record.image).toBe('looks-like.jpg');
  });

  it('reads the `images` layout and integer ids', async () => {
    const results = await read(join(dir, 'multi.parquet'));
    const records = results.map((r) => (r.ok ? r.record : undefined));
    expect(records.map((r) => r?.id)).toEqual([7, 8, 9, 10]);
    expect(records.map((r) => r?.image)).toEqual([['a.jpg', 'b.png'], ['c.png'], [], undefined]);
    const first = results[0]!;
    expect(first.ok && b64(first.embedded?.get('b.png'))).toBe(b64(png));
  });

  it('reads globs, and rejects rows that have no LLaVA shape with their place', async () => {
    const globbed = await read(join(dir, 'hub/data/train-0000[1]-*.parquet'));
    expect(globbed.map((r) => r.ok && r.record.id)).toEqual(['000000000009']);
    const results = await read(join(dir, '*.parquet').replace('*.parquet', 'b*.parquet'));
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    const bad = results.filter((r) => !r.ok);
    expect(bad.map((r) => !r.ok && [r.index, r.diagnostics[0]?.ruleId, r.diagnostics[0]?.recordId])).toEqual([
      [1, 'parquet/invalid-row', 'none'],
      [2, 'parquet/invalid-row', 'bad'],
    ]);
  });

  it('refuses a file that is not Parquet, and an input naming no Parquet file', async () => {
    await expect(read(join(dir, 'fake.parquet'))).rejects.toMatchObject({
      diagnostic: { ruleId: 'parquet/unreadable' },
    });
    await expect(read(join(dir, 'nothing-*.parquet'))).rejects.toMatchObject({
      diagnostic: { ruleId: 'parquet/no-files' },
    });
  });

  it.skipIf(!existsSync('/proc/self/fd'))(
    'holds one descriptor per file while reading it, closed when the file is read or the reading stops (needs /proc)',
    async () => {
      const { readdirSync } = await import('node:fs');
      const { readParquet } = await import('./read.js');
      const { options } = await import('./__fixtures__/helpers.js');
      const fds = () => readdirSync('/proc/self/fd').length;
      const context = {
        options: options(),
        file: '',
        report: () => {},
        count: () => {},
        images: { rewrite: (p: string) => p, readBytes: async () => undefined },
      };
      const before = fds();
      const reading = readParquet(join(dir, 'hub'), context);
      await reading.next();
      expect(fds()).toBe(before + 1);
      await reading.return(undefined);
      expect(fds()).toBe(before);
      for await (const _ of readParquet(join(dir, 'hub'), context)) expect(fds()).toBe(before + 1);
      expect(fds()).toBe(before);
    },
  );

  it('detects Parquet by its magic and by name', async () => {
    await mkdir(join(dir, 'plain/data'), { recursive: true });
    expect(parquetFormat.detect?.({ head: 'PAR1\u0015\u0004', values: [], path: 'x.bin' })).toBe(1);
    expect(parquetFormat.detect?.({ head: '', values: [], path: 'data/train-*.parquet' })).toBeGreaterThan(0.5);
    expect(parquetFormat.detect?.({ head: '[{"id": 1}]', values: [{ id: 1 }], path: 'x.json' })).toBe(0);
    // a Hub folder (Parquet under data/), but not any folder
    expect(parquetFormat.detect?.({ head: '', values: [], path: join(dir, 'hub') })).toBeGreaterThan(0.5);
    expect(parquetFormat.detect?.({ head: '', values: [], path: join(dir, 'hub/data') })).toBeGreaterThan(0.5);
    expect(parquetFormat.detect?.({ head: '', values: [], path: join(dir, 'plain') })).toBe(0);
  });
});
