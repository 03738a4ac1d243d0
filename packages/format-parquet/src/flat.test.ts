import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { LlavaRecord } from '@llavakit/format';
import fc from 'fast-check';
import { type FileMetaData, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { read, tempDir, write } from './__fixtures__/helpers.js';
import { flatPlan, readFlatRows } from './flat.js';
import { snappyUncompress } from './snappy.js';
import { chunkStart, fileBuffer, readGroupBytes } from './source.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const otherColumns = (metadata: FileMetaData) =>
  parquetSchema(metadata)
    .children.map((c) => c.element.name)
    .filter((name) => name !== 'conversations');

/** Each row group's other columns as `readFlatRows` reads them, and as hyparquet does. */
async function bothWays(file: string) {
  const { size } = await stat(file);
  const metadata = await parquetMetadataAsync(fileBuffer(file, size));
  const names = otherColumns(metadata);
  const plan = flatPlan(metadata, names);
  const out: { ours: Record<string, unknown>[] | undefined; theirs: Record<string, unknown>[] }[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    const bytes = readGroupBytes(file, group);
    const ours = plan && readFlatRows(plan, group, bytes, rows);
    const theirs = await parquetReadObjects({
      file: fileBuffer(file, size),
      metadata,
      rowStart: start,
      rowEnd: start + rows,
      columns: names,
      utf8: false,
      compressors: { SNAPPY: snappyUncompress },
    });
    out.push({ ours, theirs });
    start += rows;
  }
  return { plan, groups: out };
}

/** Rows the same as hyparquet's: values (strictly: null is not undefined, bytes by content) and key order. */
function sameRows(ours: readonly Record<string, unknown>[], theirs: readonly Record<string, unknown>[]): boolean {
  if (ours.length !== theirs.length) return false;
  for (let r = 0; r < ours.length; r++) {
    const keys = (row: Record<string, unknown>) =>
      JSON.stringify([
        Object.keys(row),
        ...Object.values(row).map((v) => (v && typeof v === 'object' ? Object.keys(v) : [])),
      ]);
    if (keys(ours[r]!) !== keys(theirs[r]!)) return false;
    if (!isDeepStrictEqual(plainBytes(ours[r]), plainBytes(theirs[r]))) return false;
  }
  return true;
}

/** Byte arrays as plain Uint8Arrays of their content (a view of a Buffer or of a page compares by content). */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainBytes(v)]));
  }
  return value;
}

const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('', 'coco', 'é🙂'));
const recordArb = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
    image: fc.constantFrom('a.png', 'b.jpg', 'missing.png', 'c/d.png'),
    source: fc.oneof(text, fc.constant(null)),
    meta: fc.oneof(fc.record({ k: text }), fc.array(fc.integer(), { maxLength: 3 })),
  },
  { requiredKeys: ['id'] },
);

const images = new Map<string, Uint8Array>([
  ['a.png', new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3])],
  ['b.jpg', new Uint8Array(5000).map((_, i) => (i * 7919) & 0xff)],
  ['c/d.png', new Uint8Array(0)],
]);

describe('readFlatRows', () => {
  it('reads the id, image, extra and override columns of every row group llavakit writes as hyparquet does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 9 }),
        async (all, rows) => {
          const file = join(dir, `f-${n++}.parquet`);
          const records = all.map((r) => ({ ...r, conversations: [{ from: 'human', value: 'hi' }] }) as LlavaRecord);
          await write(records, file, { rowGroupRows: rows }, images);
          const { plan, groups } = await bothWays(file);
          expect(plan).toBeDefined();
          for (const { ours, theirs } of groups) {
            expect(ours).toBeDefined();
            expect(sameRows(ours!, theirs)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('is checked strictly: a changed value, a null read as undefined, bytes or keys out of place all differ', async () => {
    const file = join(dir, `m-${n++}.parquet`);
    const records = [
      { id: 'a', image: 'a.png', source: 'x', conversations: [] },
      { id: 'b', conversations: [], source: null },
      { id: 'c', image: 'missing.png', conversations: [] },
    ] as unknown as LlavaRecord[];
    await write(records, file, {}, images);
    const { groups } = await bothWays(file);
    const { ours, theirs } = groups[0]!;
    expect(sameRows(ours!, theirs)).toBe(true);
    // the mutations a wrong reader would make: each one is caught
    const mutated = (change: (rows: Record<string, unknown>[]) => void) => {
      const copy = ours!.map((row) => ({
        ...row,
        image: row.image && { ...(row.image as object) },
      })) as Record<string, unknown>[];
      change(copy);
      return sameRows(copy, theirs);
    };
    expect(mutated((rows) => (rows[0]!.id = 'z'))).toBe(false);
    expect(mutated((rows) => (rows[1]!.image = undefined))).toBe(false);
    expect(mutated((rows) => (rows[2]!.image = { path: 'missing.png', bytes: null }))).toBe(false);
    expect(mutated((rows) => ((rows[0]!.image as { bytes: Uint8Array }).bytes = new Uint8Array([1])))).toBe(false);
    expect(mutated((rows) => ((rows[2]!.image as { bytes: unknown }).bytes = undefined))).toBe(false);
    expect(mutated((rows) => (rows[0] = { image: rows[0]!.image, ...rows[0] }))).toBe(false);
  });

  it('declines columns of other shapes (numbers, booleans) and the reader still reads them', async () => {
    const file = join(dir, `o-${n++}.parquet`);
    const records = [
      { id: 'a', conversations: [], n: 1, ok: true },
      { id: 'b', conversations: [], n: 2, ok: false },
    ] as unknown as LlavaRecord[];
    await write(records, file);
    const { plan } = await bothWays(file);
    expect(plan).toBeUndefined();
    expect((await read(file)).map((r) => r.ok && r.record)).toEqual(records);
  });

  it('declines a corrupt page (the reader then gives a diagnostic, never a crash or wrong rows)', async () => {
    const file = join(dir, `c-${n++}.parquet`);
    const records = Array.from({ length: 20 }, (_, i) => ({
      id: `row-${i}`,
      image: 'b.jpg',
      conversations: [{ from: 'human', value: `q${i}` }],
    })) as LlavaRecord[];
    await write(records, file, {}, images);
    const { size } = await stat(file);
    const metadata = await parquetMetadataAsync(fileBuffer(file, size));
    const group = metadata.row_groups[0]!;
    const plan = flatPlan(metadata, otherColumns(metadata))!;
    const original = await readFile(file);
    let declined = 0;
    for (const path of ['id', 'image.bytes', 'image.path']) {
      const meta = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === path)!.meta_data!;
      const start = chunkStart(meta);
      const length = Number(meta.total_compressed_size);
      // every byte of the chunk in turn, set to values that break headers, levels, lengths and Snappy streams
      for (let at = start; at < start + length; at += Math.max(1, Math.floor(length / 16))) {
        for (const value of [0xff, 0x00, 0x7f]) {
          if (original[at] === value) continue;
          const bad = Buffer.from(original);
          bad[at] = value;
          const corrupt = join(dir, `c-${n++}.parquet`);
          await writeFile(corrupt, bad);
          let rows: Record<string, unknown>[] | undefined;
          try {
            rows = readFlatRows(plan, group, readGroupBytes(corrupt, group), 20);
          } catch (error) {
            throw new Error(`readFlatRows threw at byte ${at}: ${(error as Error).message}`);
          }
          if (!rows) declined++;
          else {
            // rows read from a damaged chunk are what hyparquet reads from it too (it refuses nothing we accept)
            const theirs = await parquetReadObjects({
              file: fileBuffer(corrupt, size),
              metadata,
              rowStart: 0,
              rowEnd: 20,
              columns: otherColumns(metadata),
              utf8: false,
              compressors: { SNAPPY: snappyUncompress },
            });
            expect(sameRows(rows, theirs), `byte ${at} = ${value}`).toBe(true);
          }
        }
      }
    }
    expect(declined).toBeGreaterThan(0);
    // a chunk this reader declines is read by hyparquet, whose error is the reader's parquet/unreadable diagnostic
    // (only corruptions hyparquet is known to refuse: some damaged level runs make hyparquet 1.33 loop)
    const meta = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'image.path')!.meta_data!;
    const bad = Buffer.from(original);
    bad[chunkStart(meta)] = 0xff;
    const corrupt = join(dir, `c-${n++}.parquet`);
    await writeFile(corrupt, bad);
    expect(readFlatRows(plan, group, readGroupBytes(corrupt, group), 20)).toBeUndefined();
    await expect(read(corrupt)).rejects.toMatchObject({ diagnostic: { ruleId: 'parquet/unreadable' } });
  });
});
