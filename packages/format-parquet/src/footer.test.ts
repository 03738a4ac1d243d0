import { join } from 'node:path';
import type { LlavaRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blob, duck, lit, tempDir, write } from './__fixtures__/helpers.js';
import { compactFooter } from './footer.js';
import { openParquetFile } from './read.js';

const jpeg = encodeTinyImage('jpeg', { width: 16, height: 8 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [10, 200, 30] });

/** Rows as text (bytes as base64): typed arrays of 48 KB compare slowly element by element. */
const plain = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    JSON.stringify(row, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? `${v}n` : v,
    ),
  );

describe('compact footers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const file = () => join(dir, 'groups.parquet');
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    // 4,500 rows in row groups of 2,048 (DuckDB, an independent writer; its smallest row group): dictionary-encoded
    // and plain chunks, null and embedded images, text of varied lengths, so offsets and sizes differ between groups
    await duck(`COPY (SELECT 'id-' || i AS id,
        [{'from': 'human', 'value': '<image>\n' || repeat('word ', (i % 40)::INTEGER) || i}, {'from': 'gpt', 'value': 'ok'}]
          AS conversations,
        CASE WHEN i % 3 = 0 THEN NULL ELSE 'coco' END AS data_source,
        CASE WHEN i % 5 = 0 THEN NULL
             ELSE {'bytes': CASE WHEN i % 2 = 1 THEN ${blob(jpeg)} ELSE ${blob(png)} END, 'path': i || '.img'} END AS image
      FROM range(4500) t(i))
      TO ${lit(file())} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
  });
  afterAll(() => cleanup());

  it('read every row group as hyparquet does with the whole footer', async () => {
    const buffer = await asyncBufferFromFile(file());
    const metadata = await parquetMetadataAsync(buffer);
    expect(metadata.row_groups.length).toBeGreaterThan(2);
    const footer = compactFooter(metadata);
    expect(footer.groups).toEqual(metadata.row_groups.map((g) => Number(g.num_rows)));
    const parquet = await openParquetFile(file());
    let rowStart = 0;
    for (const [g, rows] of footer.groups.entries()) {
      const whole = await parquetReadObjects({
        file: buffer,
        metadata,
        rowStart,
        rowEnd: rowStart + rows,
        utf8: false,
      });
      const one = footer.groupMetadata(g);
      expect(one.row_groups).toHaveLength(1);
      expect(Number(one.num_rows)).toBe(rows);
      const want = plain(whole);
      expect(plain(await parquetReadObjects({ file: buffer, metadata: one, utf8: false }))).toEqual(want);
      expect(plain(await parquet.readGroup(g))).toEqual(want);
      rowStart += rows;
    }
    expect(rowStart).toBe(4500);
    expect(parquet.groupBytes).toEqual(metadata.row_groups.map((g) => Number(g.total_byte_size)));
    await expect(parquet.readGroup(footer.groups.length)).rejects.toThrow(RangeError);
  });

  it('keep a footer they do not model whole (row groups with other columns), and still read one group at a time', async () => {
    const buffer = await asyncBufferFromFile(file());
    const metadata = await parquetMetadataAsync(buffer);
    const odd = {
      ...metadata,
      row_groups: metadata.row_groups.map((g, i) => (i === 1 ? { ...g, columns: g.columns.slice(1) } : g)),
    };
    const footer = compactFooter(odd);
    expect(footer.groupMetadata(1).row_groups[0]).toBe(odd.row_groups[1]);
    expect(footer.groupMetadata(0).row_groups[0]).toBe(odd.row_groups[0]);
    expect(() => footer.groupMetadata(99)).toThrow(RangeError);
  });
});

describe('huge row groups, read in slices of pages', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const records: LlavaRecord[] = [];
  const images = new Map<string, Uint8Array>();
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    // 36 records in one row group, each image 48 KB of noise (hyparquet-writer cuts 1 MB pages: ~21 rows a page);
    // a list column (`images`) beside it, whose pages count values, not rows
    let seed = 7;
    for (let i = 0; i < 36; i++) {
      const noise = new Uint8Array(48 * 1024).map(() => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed >>> 16;
      });
      const bytes = new Uint8Array([...png.subarray(0, 16), ...noise]);
      images.set(`img/${i}.png`, bytes);
      records.push({
        id: `r-${i}`,
        image: i % 7 === 3 ? [] : [`img/${i}.png`],
        conversations: [
          { from: 'human', value: `${i % 7 === 3 ? '' : '<image>\n'}Row ${i}?` },
          { from: 'gpt', value: 'x'.repeat(i * 11) },
        ],
      });
    }
    await write(records, join(dir, 'big.parquet'), { rowGroupRows: 1000 }, images);
  });
  afterAll(() => cleanup());

  it('find the pages from their headers and read each slice as the same rows the whole group gives', async () => {
    const whole = await openParquetFile(join(dir, 'big.parquet'));
    expect(whole.groups).toEqual([36]);
    expect(await whole.slices(0)).toEqual([0]); // under the 64 MiB default: read whole
    const sliced = await openParquetFile(join(dir, 'big.parquet'), { sliceGroupBytes: 1 });
    const starts = await sliced.slices(0);
    expect(starts.length).toBeGreaterThan(1);
    expect(starts[0]).toBe(0);
    const all = plain(await whole.readGroup(0));
    const again: Record<string, unknown>[] = [];
    for (const [s, start] of starts.entries()) again.push(...(await sliced.readRows(0, start, starts[s + 1] ?? 36)));
    expect(plain(again)).toEqual(all);
    // any range, across page boundaries, clamped to the group
    expect(plain(await sliced.readRows(0, starts[1]! - 2, starts[1]! + 3))).toEqual(
      all.slice(starts[1]! - 2, starts[1]! + 3),
    );
    expect(plain(await sliced.readRows(0, 30, 99))).toEqual(all.slice(30));
    const one = sliced.toRecord((await sliced.readRows(0, 20, 21))[0]!, 20);
    expect(one.ok && one.record).toEqual(records[20]);
    expect(Buffer.from((one.ok && one.embedded?.get('img/20.png')) || []).equals(images.get('img/20.png')!)).toBe(true);
    await expect(sliced.slices(1)).rejects.toThrow(RangeError);
  });
});
