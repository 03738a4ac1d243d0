import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blob, duck, lit, tempDir, write } from './__fixtures__/helpers.js';
import { checkGroupPages } from './guard.js';
import { chunkStart, readGroupBytes } from './source.js';

/** Check the page headers of every row group of `file` (as `readGroup` does before hyparquet decodes them). */
async function check(file: string, damage?: (bytes: Uint8Array, starts: Map<string, number>) => void) {
  const bytes = new Uint8Array(await readFile(file));
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (const group of metadata.row_groups) {
    const read = readGroupBytes(file, group);
    const starts = new Map(group.columns.map((c) => [c.meta_data!.path_in_schema.join('.'), chunkStart(c.meta_data!)]));
    // (damage the bytes as read, offsets are the file's)
    if (damage)
      for (const chunk of read.chunks) damage(chunk.bytes, new Map([...starts].map(([k, v]) => [k, v - chunk.start])));
    checkGroupPages(group, read.chunks, metadata.schema);
  }
}

describe('checkGroupPages', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const records = Array.from({ length: 20 }, (_, i) => ({
      id: `r${i}`,
      image: `img/${i}.jpg`,
      conversations: [
        { from: 'human', value: `<image>\nQ${i}` },
        { from: 'gpt', value: `A${i}` },
      ],
    }));
    await write(records, join(dir, 'ours.parquet'));
    await duck(`COPY (SELECT 'id-' || i AS id, [{'from': 'human', 'value': 'q' || i}] AS conversations,
        CASE WHEN i % 3 = 0 THEN NULL ELSE {'bytes': ${blob(new Uint8Array([1, 2, 3]))}, 'path': i || '.jpg'} END AS image
        FROM range(30) t(i)) TO ${lit(join(dir, 'duck.parquet'))} (FORMAT parquet, ROW_GROUP_SIZE 10)`);
  });
  afterAll(() => cleanup());

  it('lets the pages llavakit and DuckDB write through', async () => {
    await expect(check(join(dir, 'ours.parquet'))).resolves.toBeUndefined();
    await expect(check(join(dir, 'duck.parquet'))).resolves.toBeUndefined();
  });

  it('names the column and the page whose header lost its level lengths', async () => {
    // byte 17 of the image.path page header ends its DATA_PAGE_V2 header before the level lengths
    const zeroed = (bytes: Uint8Array, starts: Map<string, number>) => {
      const at = starts.get('image.path')! + 17;
      if (at >= 0 && at < bytes.length) bytes[at] = 0;
    };
    await expect(check(join(dir, 'ours.parquet'), zeroed)).rejects.toThrow(
      /^column image\.path, page at byte \d+: its header has no valid level lengths$/,
    );
  });

  it("names a page whose definition levels hold a run of none, or one past the page's values", async () => {
    // the image.path page's header is 23 bytes; its definition levels follow (one RLE run of 20)
    const set = (value: number) => (bytes: Uint8Array, starts: Map<string, number>) => {
      const at = starts.get('image.path')! + 23;
      if (at >= 0 && at < bytes.length) bytes[at] = value;
    };
    await expect(check(join(dir, 'ours.parquet'), set(0x00))).rejects.toThrow(
      /^column image\.path, page at byte \d+: its levels hold a run of none$/,
    );
    await expect(check(join(dir, 'ours.parquet'), set(0xff))).rejects.toThrow(
      /^column image\.path, page at byte \d+: its levels hold a run of 1528, past the page's 20$/,
    );
  });

  it('rejects a page that ends past its chunk, and pages that hold more values than the chunk', async () => {
    const file = join(dir, 'ours.parquet');
    const bytes = new Uint8Array(await readFile(file));
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const group = metadata.row_groups[0]!;
    const read = readGroupBytes(file, group);
    const id = group.columns.find((c) => c.meta_data!.path_in_schema[0] === 'id')!.meta_data!;
    const chunk = read.chunks.find((c) => c.start === chunkStart(id))!;
    expect(() => checkGroupPages(group, [{ start: chunk.start, bytes: chunk.bytes.subarray(0, 40) }])).toThrow(
      /^column id, page at byte \d+: it ends past its column chunk/,
    );
    const fewer = {
      ...group,
      columns: group.columns.map((c) => (c.meta_data === id ? { ...c, meta_data: { ...id, num_values: 5n } } : c)),
    };
    expect(() => checkGroupPages(fewer, read.chunks)).toThrow(
      /^column id, page at byte \d+: the pages hold more values than the column chunk \(5\)$/,
    );
  });
});
