import { join } from 'node:path';
import type { LlavaRecord } from '@llavakit/format';
import fc from 'fast-check';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ParquetWriter } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { read, tempDir, write } from './__fixtures__/helpers.js';
import { decideLayout, LLAVAKIT_METADATA_KEY } from './layout.js';
import { FileByteWriter } from './output.js';
import { openParquetFile } from './read.js';
import { parquetSchema } from './schema.js';
import { snappyCompress, snappyUncompress } from './snappy.js';
import { chunkStart, fileBuffer, readGroupBytes } from './source.js';
import { pendingTurns, readTurnColumn } from './turns.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

/** Each row group's turns as `readTurnColumn` reads them from the file, and as hyparquet decodes them. */
async function bothWays(file: string) {
  const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
  const metadata = await parquetMetadataAsync(fileBuffer(file, size));
  const out: { ours: ReturnType<typeof readTurnColumn>; theirs: unknown[]; rows: number }[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    const bytes = readGroupBytes(file, group);
    const leaf = (name: string) => {
      const meta = group.columns.find(
        (c) => c.meta_data?.path_in_schema.join('.') === `conversations.list.element.${name}`,
      )!.meta_data!;
      return bytes.chunks.find((c) => c.start === chunkStart(meta))!.bytes;
    };
    const ours = readTurnColumn({ from: leaf('from'), value: leaf('value') }, group.columns[0]!.meta_data!.codec, rows);
    const theirs = (
      await parquetReadObjects({
        file: fileBuffer(file, size),
        metadata,
        rowStart: start,
        rowEnd: start + rows,
        columns: ['conversations'],
        compressors: { SNAPPY: snappyUncompress },
      })
    ).map((r) => r.conversations);
    out.push({ ours, theirs, rows });
    start += rows;
  }
  return out;
}

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => `\uFEFF${s}`), // a byte-order mark, which TextDecoder drops
  fc.constantFrom('', 'gpt', 'A long answer that repeats. '.repeat(20)),
);
// plain-text pages (every value ASCII: one check answers for the page) and pages of any text
const ascii = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 300 }), fc.constantFrom('', 'gpt'));
const turnsArb = fc.oneof(
  fc.array(fc.record({ from: fc.constantFrom('human', 'gpt', 'system', '🙂'), value: text }), { maxLength: 4 }),
  fc.array(fc.record({ from: fc.constantFrom('human', 'gpt'), value: ascii }), { maxLength: 4 }),
);

describe('readTurnColumn', () => {
  it('reads every row group llavakit writes as hyparquet decodes it, and sizes each row exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnsArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 12 }),
        async (all, rows) => {
          const file = join(dir, `t-${n++}.parquet`);
          const records = all.map((conversations, i) => ({ id: String(i), conversations }) as LlavaRecord);
          await write(records, file, { rowGroupRows: rows });
          for (const { ours, theirs, rows: count } of await bothWays(file)) {
            expect(ours).toBeDefined();
            for (let r = 0; r < count; r++) {
              const turns = ours!.turns(r);
              expect(turns).toEqual(theirs[r]);
              expect(ours!.units[r]).toBe(turns.reduce((sum, t) => sum + t.from.length + t.value.length, 0));
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('leaves the chunk bytes as read (a re-shard copies them): pages that are views of the chunk are copied first', async () => {
    const file = join(dir, `v-${n++}.parquet`);
    // tiny dictionary pages are stored as one Snappy literal: their uncompressed bytes are a view of the chunk
    const records = Array.from({ length: 30 }, (_, i) => ({
      id: String(i),
      conversations: [
        { from: i % 2 ? 'human' : 'gpt', value: `question ${i % 3}` },
        { from: 'gpt', value: 'ünïcødé answer' },
      ],
    })) as LlavaRecord[];
    await write(records, file);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
    const metadata = await parquetMetadataAsync(fileBuffer(file, size));
    const group = metadata.row_groups[0]!;
    const bytes = readGroupBytes(file, group);
    const before = bytes.chunks.map((c) => Buffer.from(c.bytes));
    const leaf = (name: string) => {
      const meta = group.columns.find(
        (c) => c.meta_data?.path_in_schema.join('.') === `conversations.list.element.${name}`,
      )!.meta_data!;
      return bytes.chunks.find((c) => c.start === chunkStart(meta))!.bytes;
    };
    for (let pass = 0; pass < 2; pass++) {
      const column = readTurnColumn({ from: leaf('from'), value: leaf('value') }, 'SNAPPY', 30);
      expect(column?.turns(1)).toEqual(records[1]!.conversations);
    }
    expect(bytes.chunks.map((c) => Buffer.compare(c.bytes, before[bytes.chunks.indexOf(c)]!))).toEqual(
      bytes.chunks.map(() => 0),
    );
  });

  /** A llavakit-shaped file written with hyparquet-writer directly, cells as given (nulls included). */
  async function handMade(conversations: unknown[]): Promise<string> {
    const file = join(dir, `h-${n++}.parquet`);
    const layout = decideLayout([{ conversations: [] } as unknown as LlavaRecord], undefined);
    const writer = new ParquetWriter({
      writer: new FileByteWriter(file),
      schema: parquetSchema(layout),
      codec: 'SNAPPY',
      compressors: { SNAPPY: snappyCompress },
      kvMetadata: [{ key: LLAVAKIT_METADATA_KEY, value: JSON.stringify({ version: 1, overrides: 'llavakit_extra' }) }],
    });
    const count = conversations.length;
    const nulls = () => Array<null>(count).fill(null);
    await writer.write({
      columnData: [
        { name: 'id', data: conversations.map((_, i) => String(i)) },
        { name: 'conversations', data: conversations },
        { name: 'image', data: nulls() },
        { name: 'llavakit_extra', data: nulls() },
      ],
      rowGroupSize: count,
    });
    await writer.finish();
    return file;
  }

  it('declines a row group holding a null list, turn, from or value, and the reader then rejects just that row', async () => {
    const ok = [{ from: 'human', value: 'hi' }];
    for (const bad of [null, [null], [{ from: 'human', value: null }], [{ from: null, value: 'x' }]]) {
      const file = await handMade([ok, bad, []]);
      const [group] = await bothWays(file);
      expect(group!.ours).toBeUndefined();
      const results = await read(file);
      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      expect(results[1]!.ok ? undefined : results[1]!.diagnostics[0]?.ruleId).toBe('parquet/invalid-row');
    }
    // and reads a group of valid rows, empty lists included
    const [group] = await bothWays(await handMade([ok, [], ok]));
    expect(group!.ours?.turns(1)).toEqual([]);
  });

  it('declines bytes that are not UTF-8 (only TextDecoder knows how it replaces them), and the reader still reads them', async () => {
    const file = await handMade([[{ from: 'human', value: 'ok' }]]);
    // flip the value's bytes into invalid UTF-8 by writing it as bytes
    const bad = join(dir, `bad-${n++}.parquet`);
    const layout = decideLayout([{ conversations: [] } as unknown as LlavaRecord], undefined);
    const writer = new ParquetWriter({
      writer: new FileByteWriter(bad),
      schema: parquetSchema(layout),
      codec: 'SNAPPY',
      compressors: { SNAPPY: snappyCompress },
      kvMetadata: [{ key: LLAVAKIT_METADATA_KEY, value: JSON.stringify({ version: 1, overrides: 'llavakit_extra' }) }],
    });
    await writer.write({
      columnData: [
        { name: 'id', data: ['0'] },
        { name: 'conversations', data: [[{ from: 'human', value: new Uint8Array([0x61, 0xff, 0x62]) }]] },
        { name: 'image', data: [null] },
        { name: 'llavakit_extra', data: [null] },
      ],
      rowGroupSize: 1,
    });
    await writer.finish();
    expect((await bothWays(file))[0]!.ours).toBeDefined();
    expect((await bothWays(bad))[0]!.ours).toBeUndefined();
    const [result] = await read(bad);
    expect(result?.ok && result.record.conversations[0]?.value).toBe('a\uFFFDb');
  });
});

describe('records read with pending turns', () => {
  it('are the records an eager read gives: same keys in the same order, same JSON; turns decode on first read', async () => {
    const file = join(dir, `r-${n++}.parquet`);
    const records: LlavaRecord[] = [
      { id: 'a', image: 'x.png', conversations: [{ from: 'human', value: '<image>\nWhat?' }], source: 'coco' },
      { id: 7, conversations: [{ from: 'gpt', value: 'é🙂', weight: 1 } as never], source: 'text' },
      { id: 'c', conversations: [], source: 'coco' },
    ];
    await write(records, file, {}, new Map([['x.png', new Uint8Array([1, 2, 3])]]));
    const results = await read(file);
    const lazy = results.map((r) => (r.ok ? r.record : undefined))!;
    // the first and third come from their row with turns pending; the second has turns of its own (an override)
    expect(lazy.map((r) => pendingTurns(r!) !== undefined)).toEqual([true, false, true]);
    // an eager read: the same file opened without the re-shard's whole footer
    const parquet = await openParquetFile(file);
    const eager = (await parquet.readGroup(0)).map((row, i) => {
      const converted = parquet.toRecord(row, i);
      return converted.ok ? converted.record : undefined;
    });
    expect(lazy.map((r) => Object.keys(r!))).toEqual(eager.map((r) => Object.keys(r!)));
    expect(lazy.map((r) => JSON.stringify(r))).toEqual(eager.map((r) => JSON.stringify(r)));
    expect(lazy).toEqual(records);
    // read once: no longer pending, and the same array on every read after
    expect(pendingTurns(lazy[0]!)).toBeUndefined();
    expect(lazy[0]!.conversations).toBe(lazy[0]!.conversations);
    // written before any read: the new value, no longer pending
    const [fresh] = (await read(file)).map((r) => (r.ok ? r.record : undefined));
    fresh!.conversations = [{ from: 'gpt', value: 'new' }];
    expect(pendingTurns(fresh!)).toBeUndefined();
    expect(fresh!.conversations).toEqual([{ from: 'gpt', value: 'new' }]);
  });
});
