import { join } from 'node:path';
import { encodeTinyImage } from '@llavakit/images';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blob, duck, lit, tempDir } from './__fixtures__/helpers.js';
import { compactFooter } from './footer.js';
import { openParquetFile } from './read.js';

const jpeg = encodeTinyImage('jpeg', { width: 16, height: 8 });
const png = encodeTinyImage('png', { width: 4, height: 4, color: [10, 200, 30] });

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
      expect(await parquetReadObjects({ file: buffer, metadata: one, utf8: false })).toEqual(whole);
      expect(await parquet.readGroup(g)).toEqual(whole);
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
