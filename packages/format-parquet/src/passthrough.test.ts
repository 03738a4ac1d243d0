import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic, FormatContext, LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, duck, lit, options, read, type Seen, tempDir, write } from './__fixtures__/helpers.js';
import type { ParquetOptions } from './options.js';
import { sameCell } from './passthrough.js';
import { COPY_FROM_MEMORY_BYTES, readParquet } from './read.js';
import { writeParquet } from './write.js';

/** Incompressible bytes (xorshift). */
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
  { from: 'gpt', value: `Answer to ${text} — ünïcødé ✓` },
];

interface Reshard {
  /** Drop a record the way the host does (a failed check): it is rejected, never reaches the writer. */
  readonly reject?: (index: number) => boolean;
  /** Change a record on its way (a host-side fix). */
  readonly change?: (record: LlavaRecord, index: number) => LlavaRecord;
  readonly rewrite?: (path: string) => string;
}

/**
 * `readParquet` into `writeParquet` as the host wires them: embedded bytes answered first, records checked (and
 * maybe rejected) between the two. Returns what the writer saw plus the host's rejects.
 */
async function reshard(
  input: string,
  output: string,
  raw: Partial<ParquetOptions> = {},
  how: Reshard = {},
): Promise<Seen & { read: number; hostRejected: number[] }> {
  const seen: Seen & { read: number; hostRejected: number[] } = {
    accepted: [],
    rejected: [],
    reports: [],
    counts: {},
    read: 0,
    hostRejected: [],
  };
  const count = (event: string, by = 1) => {
    seen.counts[event] = (seen.counts[event] ?? 0) + by;
  };
  let current: SourceRecord['embedded'];
  const images = {
    rewrite: how.rewrite ?? ((p: string) => p),
    readBytes: async (p: string) => current?.get(p),
  };
  const readContext: FormatContext<ParquetOptions> = {
    options: options(),
    file: input,
    report: () => {},
    count,
    images,
  };
  const sources = async function* (): AsyncGenerator<SourceRecord> {
    for await (const result of readParquet(input, readContext)) {
      seen.read++;
      if (!result.ok || how.reject?.(result.index)) {
        seen.hostRejected.push(result.index);
        continue;
      }
      const record = how.change ? how.change(result.record, result.index) : result.record;
      current = result.embedded;
      yield { record, index: result.index, file: input, ...(result.embedded ? { embedded: result.embedded } : {}) };
    }
  };
  const context: WriteContext<ParquetOptions> = {
    options: options(raw),
    file: output,
    output: { path: output },
    report: (d: Diagnostic) => seen.reports.push(d),
    count,
    images,
    accept: (s) => seen.accepted.push(s),
    reject: (source, diagnostics) => seen.rejected.push({ source, diagnostics }),
  };
  await writeParquet(sources(), context);
  return seen;
}

const groupsOf = async (file: string) =>
  (
    await duck(
      `SELECT DISTINCT row_group_id::INT AS g, row_group_num_rows::INT AS n FROM parquet_metadata(${lit(file)}) ORDER BY g`,
    )
  ).map((r) => Number(r.n));

/** Every row (all columns, image bytes as base64) in file order, as DuckDB reads them. */
const rowsOf = (file: string) =>
  duck(
    `SELECT id, conversations::VARCHAR AS conversations, to_base64(image.bytes) AS bytes, image.path AS path, data_source, llavakit_extra FROM read_parquet(${lit(file)}, filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
  );

describe('re-shard: unchanged row groups are copied byte for byte', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let source: string;
  const pool = new Map<string, Uint8Array>();
  const records: LlavaRecord[] = [];
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    for (let i = 0; i < 60; i++) {
      const path = `img/${i}.${i % 3 === 0 ? 'png' : 'bin'}`;
      pool.set(path, i % 3 === 0 ? encodeTinyImage('png', { width: 3, height: 2 + i }) : noise(2_000 + i, i + 1));
      records.push(
        i % 7 === 6
          ? { id: i, conversations: turns(`text ${i}`), data_source: 'text' }
          : { id: String(i), image: path, conversations: turns(String(i)), data_source: i % 2 ? 'coco' : 'gqa' },
      );
    }
    source = join(dir, 'source.parquet');
    await write(records, source, { rowGroupImageRows: 10 }, pool);
  });
  afterAll(() => cleanup());

  it('copies every row group: DuckDB reads identical rows, byte-identical images, the same row groups and metadata', async () => {
    const out = join(dir, 'hub');
    const seen = await reshard(source, out);
    const file = join(out, 'data/train-00000-of-00001.parquet');
    expect(seen.accepted).toHaveLength(60);
    expect(seen.rejected).toEqual([]);
    const groups = await groupsOf(source);
    expect(groups.length).toBeGreaterThan(4);
    expect(seen.counts['parquet:row-groups-copied']).toBe(groups.length);
    expect(await groupsOf(file)).toEqual(groups);
    expect(await rowsOf(file)).toEqual(await rowsOf(source));
    const bytes = await duck(
      `SELECT id, to_base64(image.bytes) AS b FROM read_parquet(${lit(file)}) WHERE image IS NOT NULL`,
    );
    for (const row of bytes)
      expect(row.b).toBe(b64(pool.get(`img/${row.id}.${Number(row.id) % 3 === 0 ? 'png' : 'bin'}`)));
    const kv = await duck(`SELECT decode(key) AS k FROM parquet_kv_metadata(${lit(file)}) ORDER BY k`);
    expect(kv.map((r) => r.k)).toEqual(['huggingface', 'llavakit']);
    const codecs = await duck(`SELECT DISTINCT compression FROM parquet_metadata(${lit(file)})`);
    expect(codecs).toEqual([{ compression: 'SNAPPY' }]);
    // and llavakit reads back the records it started from (integer ids, text-only rows)
    expect((await read(file)).map((r) => r.ok && r.record)).toEqual(records);
  });

  it('copies a row group larger than COPY_FROM_MEMORY_BYTES from its file (not held), byte-identical', async () => {
    const big = new Map<string, Uint8Array>();
    const large: LlavaRecord[] = [];
    // 3 groups of 24 incompressible images of 200 KB: 4.8 MB per group, past the 4 MiB written from memory
    for (let i = 0; i < 72; i++) {
      big.set(`big/${i}.bin`, noise(200_000, i + 7));
      large.push({ id: String(i), image: `big/${i}.bin`, conversations: turns(`big ${i}`) });
    }
    const input = join(dir, 'large.parquet');
    await write(large, input, { rowGroupImageRows: 24 }, big);
    const groups = await duck(
      `SELECT row_group_id::INT AS g, sum(total_compressed_size)::BIGINT AS b FROM parquet_metadata(${lit(input)}) GROUP BY g ORDER BY g`,
    );
    expect(groups.map((g) => Number(g.b) > COPY_FROM_MEMORY_BYTES)).toEqual([true, true, true]);
    const out = join(dir, 'large-out.parquet');
    const seen = await reshard(input, out);
    expect(seen.counts['parquet:row-groups-copied']).toBe(3);
    const hashes = (file: string) =>
      duck(`SELECT id, md5(image.bytes) AS h, conversations::VARCHAR AS c FROM read_parquet(${lit(file)}) ORDER BY id`);
    expect(await hashes(out)).toEqual(await hashes(input));
  });

  it('re-encodes only the row group of a rejected, a changed or a writer-rejected row; the others are copied', async () => {
    const out = join(dir, 'mixed.parquet');
    const seen = await reshard(
      source,
      out,
      { imageLayout: 'image' },
      {
        reject: (index) => index === 13,
        change: (record, index) => {
          // changed in place (the same object the reader made): caught by comparing the cells
          if (index === 40) record.conversations[1]!.value = 'changed in place';
          if (index === 25) return { ...record, conversations: turns('changed') };
          if (index === 47) return { ...record, image: [record.image as string, record.image as string] };
          return record;
        },
      },
    );
    // every record is written or rejected
    expect(seen.hostRejected).toEqual([13]);
    expect(seen.rejected.map((r) => [r.source.index, r.diagnostics[0]?.ruleId])).toEqual([
      [47, 'parquet/image-layout'],
    ]);
    expect(seen.accepted.length + seen.rejected.length + seen.hostRejected.length).toBe(seen.read);
    const before = await groupsOf(source);
    const after = await groupsOf(out);
    expect(after.reduce((a, b) => a + b, 0)).toBe(58);
    // the row groups holding rows 13, 25, 40 or 47 are re-encoded, every other one is copied
    let start = 0;
    const touched = before.filter((rows) => {
      const hit = [13, 25, 40, 47].some((i) => i >= start && i < start + rows);
      start += rows;
      return hit;
    }).length;
    expect(touched).toBe(4);
    expect(seen.counts['parquet:row-groups-copied']).toBe(before.length - touched);
    const want = (await rowsOf(source)).filter((r) => r.id !== '13' && r.id !== '47');
    const inPlace = want.find((r) => r.id === '40')!;
    inPlace.conversations = String(inPlace.conversations).replace(
      /'value': Answer to 40[^}]*}/,
      "'value': changed in place}",
    );
    const changed = want.find((r) => r.id === '25')!;
    changed.conversations = (
      await duck(
        `SELECT [{'from': 'human', 'value': ${lit(turns('changed')[0]!.value)}}, {'from': 'gpt', 'value': ${lit(turns('changed')[1]!.value)}}]::VARCHAR AS c`,
      )
    )[0]!.c;
    expect(await rowsOf(out)).toEqual(want);
  });

  it('copies nothing when image paths are rewritten, only the groups within smaller limits, and writes every row', async () => {
    const prefixed = join(dir, 'prefixed.parquet');
    const a = await reshard(source, prefixed, {}, { rewrite: (p) => `data/${p}` });
    expect(a.counts['parquet:row-groups-copied']).toBeUndefined();
    expect((await duck(`SELECT image.path AS p FROM read_parquet(${lit(prefixed)}) WHERE id = '1'`))[0]?.p).toBe(
      'data/img/1.bin',
    );
    const smaller = join(dir, 'smaller.parquet');
    const b = await reshard(source, smaller, { rowGroupRows: 4 });
    // only a source row group within the new limit (the last, short one) is kept as it is
    const short = (await groupsOf(source)).filter((rows) => rows <= 4).length;
    expect(b.counts['parquet:row-groups-copied'] ?? 0).toBe(short);
    expect(Math.max(...(await groupsOf(smaller)))).toBe(4);
    expect(await rowsOf(smaller)).toEqual(await rowsOf(source));
  });

  it('sizes rows whose turns were never decoded exactly: the same card, row groups and rows as when the host reads every record', async () => {
    const direct = join(dir, 'direct');
    await write(records, direct, { rowGroupImageRows: 10 }, pool);
    const readAll = (record: LlavaRecord) => {
      void record.conversations; // the host reads the turns (as a --validate would): they are decoded
      return record;
    };
    for (const limits of [{}, { rowGroupBytes: 9_000 }] as Partial<ParquetOptions>[]) {
      const lazy = join(dir, `lazy-${Object.keys(limits).length}`);
      const eager = join(dir, `eager-${Object.keys(limits).length}`);
      const a = await reshard(direct, lazy, limits);
      const b = await reshard(direct, eager, limits, { change: readAll });
      expect(a.accepted).toHaveLength(60);
      expect(a.counts['parquet:row-groups-copied']).toBe(b.counts['parquet:row-groups-copied']);
      expect(a.counts['parquet:row-groups']).toBe(b.counts['parquet:row-groups']);
      // the card's num_bytes counts every row's text: equal only if the undecoded rows were sized exactly
      expect(await readFile(join(lazy, 'README.md'), 'utf8')).toBe(await readFile(join(eager, 'README.md'), 'utf8'));
      expect(await readFile(join(lazy, 'README.md'), 'utf8')).toBe(await readFile(join(direct, 'README.md'), 'utf8'));
      const files = (out: string) => join(out, 'data/*.parquet');
      expect(await groupsOf(files(lazy))).toEqual(await groupsOf(files(eager)));
      expect(await rowsOf(files(lazy))).toEqual(await rowsOf(files(direct)));
    }
    // with the default limits every row group is copied; with 9 KB, the larger ones are encoded again, split
    const copied = await reshard(direct, join(dir, 'lazy-again'));
    expect(copied.counts['parquet:row-groups-copied']).toBe((await groupsOf(join(direct, 'data/*.parquet'))).length);
    const split = await reshard(direct, join(dir, 'lazy-split'), { rowGroupBytes: 9_000 });
    expect(split.counts['parquet:row-groups']).toBeGreaterThan(split.counts['parquet:row-groups-copied'] ?? 0);
  });

  it('starts new shards between copied row groups', async () => {
    const out = join(dir, 'shards');
    const seen = await reshard(source, out, { shardBytes: 40_000 });
    expect(seen.counts['parquet:shards']).toBeGreaterThan(1);
    expect(seen.counts['parquet:row-groups-copied']).toBe((await groupsOf(source)).length);
    expect(await rowsOf(join(out, 'data/*.parquet'))).toEqual(await rowsOf(source));
  });
});

describe('sameCell', () => {
  it('is strict about types, nulls, bytes and nesting', () => {
    expect(sameCell(null, undefined)).toBe(true);
    expect(sameCell(1, 1)).toBe(true);
    expect(sameCell(0, -0)).toBe(false);
    expect(sameCell(1n, 1n)).toBe(true);
    expect(sameCell(1n, 1)).toBe(false);
    expect(sameCell('1', 1)).toBe(false);
    expect(sameCell(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameCell(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(sameCell({ bytes: null, path: 'a' }, { bytes: undefined, path: 'a' })).toBe(true);
    expect(sameCell({ path: 'a' }, { bytes: new Uint8Array(1), path: 'a' })).toBe(false);
    expect(sameCell([{ from: 'a', value: 'b' }], [{ from: 'a', value: 'b' }])).toBe(true);
    expect(sameCell([{ from: 'a', value: 'b', weight: 1 }], [{ from: 'a', value: 'b' }])).toBe(false);
    expect(sameCell([], null)).toBe(false);
  });
});

describe('llava → parquet → re-shard (property)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  const pool = new Map<string, Uint8Array>([
    ['a.png', encodeTinyImage('png', { width: 2, height: 2 })],
    ['b.jpg', encodeTinyImage('jpeg', { width: 4, height: 3 })],
  ]);
  const record = fc
    .record(
      {
        id: fc.oneof(fc.string(), fc.integer({ min: 0 })),
        image: fc.constantFrom('a.png', 'b.jpg', 'missing.png'),
        conversations: fc.array(fc.record({ from: fc.constantFrom('human', 'gpt'), value: fc.string() }), {
          minLength: 1,
          maxLength: 3,
        }),
        model: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      },
      { requiredKeys: ['conversations'] },
    )
    .map((r) => r as LlavaRecord);

  it('gives back the same records with every row group copied', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (records, rows) => {
        const file = join(dir, `p-${n}.parquet`);
        const out = join(dir, `p-${n++}-out.parquet`);
        await write(records, file, { rowGroupRows: rows }, pool);
        const seen = await reshard(file, out, { rowGroupRows: rows });
        const groups = records.length === 0 ? 0 : Math.ceil(records.length / rows);
        expect(seen.counts['parquet:row-groups-copied'] ?? 0).toBe(groups);
        const back = await read(out);
        expect(back.map((r) => r.ok && r.record)).toEqual(records);
        for (const r of back) {
          if (r.ok && typeof r.record.image === 'string' && pool.has(r.record.image)) {
            expect(b64(r.embedded?.get(r.record.image))).toBe(b64(pool.get(r.record.image)));
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
