import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARQUET_BYTES, PARQUET_RECORDS as RECORDS, writeParquetHub } from './_testing.js';
import { ParquetRecords } from './parquet.js';
import { startViewer, type Viewer } from './server.js';

function raw(port: number, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const jpeg = PARQUET_BYTES.get('coco/1.jpg')!;
const png = PARQUET_BYTES.get('gqa/2.png')!;

describe('the viewer on Parquet (a Hub folder, images embedded)', () => {
  let dir: string;
  let viewer: Viewer;
  let token: string;
  const get = (path: string) => raw(viewer.port, path, { 'x-llava-token': token });
  const json = async (path: string) => {
    const r = await get(path);
    expect(r.status, path).toBe(200);
    return JSON.parse(r.body.toString());
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-view-parquet-'));
    await writeParquetHub(join(dir, 'hub'));
    viewer = await startViewer({ inputs: [join(dir, 'hub')], pageSize: 4 });
    token = new URL(viewer.url).searchParams.get('token')!;
    await viewer.tokensCounted;
  });
  afterAll(async () => {
    await viewer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('indexes every row by file, row group and row in typed arrays', async () => {
    expect(await readdir(join(dir, 'hub', 'data'))).toEqual(['train-00000-of-00001.parquet']);
    const index = viewer.index;
    expect(index.count).toBe(7);
    expect(index.files).toHaveLength(1);
    expect(index.files[0]).toMatchObject({ name: 'train-00000-of-00001.parquet', format: 'parquet', records: 7 });
    expect([...index.offsets]).toEqual([0, 0, 0, 1, 1, 1, 2]); // row group
    expect([...index.lengths]).toEqual([0, 1, 2, 0, 1, 2, 0]); // row in the group
    expect(index.offsets).toBeInstanceOf(Float64Array);
  });

  it('serves the rows with the same summary columns and diagnostics as JSON', async () => {
    const page1 = await json('/api/rows?page=1');
    expect(page1.total).toBe(7);
    expect(page1.pages).toBe(2);
    expect(page1.rows.map((r: { id: string }) => r.id)).toEqual(['a', 'b', 'text', 'c']);
    expect(page1.rows.map((r: { source: string }) => r.source)).toEqual(['coco', 'gqa', 'text-only', 'coco']);
    expect(page1.rows.map((r: { images: number }) => r.images)).toEqual([1, 1, 0, 1]);
    expect(page1.rows.map((r: { turns: number }) => r.turns)).toEqual([2, 2, 2, 2]);
    expect(page1.rows[0].tokens).toBeGreaterThan(3);
    const page2 = await json('/api/rows?page=2');
    expect(page2.rows.map((r: { index: number }) => r.index)).toEqual([4, 5, 6]);
    expect(page2.rows[0].rules).toContain('roles/alternation');
    expect(page2.rows[1].rules).toContain('id/duplicate');
    const dup = await json('/api/rows?rule=id%2Fduplicate');
    expect(dup.rows.map((r: { index: number }) => r.index)).toEqual([5]);
  });

  it('opens a record: its canonical record as JSON, diagnostics, images and a template rendering', async () => {
    const view = await json('/api/record?n=4&template=v1');
    expect(view.value).toEqual(RECORDS[4]);
    expect(JSON.parse(view.text)).toEqual(RECORDS[4]);
    expect(view.where).toBe('row group 1, row 1');
    expect(view.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toContain('roles/alternation');
    expect(view.images).toEqual([
      {
        slot: 0,
        ref: 'gqa/2.png',
        status: 'found',
        format: 'png',
        width: 4,
        height: 4,
        bytes: png.length,
        location: 'embedded',
        diagnostics: [],
      },
    ]);
    const first = await json('/api/record?n=0&template=v1');
    expect(first.rendered).toContain('What is the cat doing?');
    expect(first.rendered).toContain('ASSISTANT:');
    const dup = await json('/api/record?n=5');
    expect(dup.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toContain('id/duplicate');
  });

  it('serves embedded images by record and slot, byte for byte, with the sniffed type; 404 out of range', async () => {
    const a = await get('/api/image?n=0&slot=0');
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('image/jpeg');
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(a.body, Buffer.from(jpeg))).toBe(0);
    const b = await get('/api/image?n=6&slot=0'); // row group 2: another group than the last one read
    expect(b.status).toBe(200);
    expect(b.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(b.body, Buffer.from(png))).toBe(0);
    expect((await get('/api/image?n=0&slot=1')).status).toBe(404);
    expect((await get('/api/image?n=2&slot=0')).status).toBe(404); // text-only
    expect((await get('/api/image?n=7&slot=0')).status).toBe(404); // no such record
    expect((await raw(viewer.port, '/api/image?n=0&slot=0', {})).status).toBe(403); // no token
  });

  it('searches the canonical records', async () => {
    const found = await json('/api/search?q=zebra%20crossing');
    expect(found.rows.map((r: { id: string }) => r.id)).toEqual(['c']);
    expect(found.done).toBe(true);
  });

  it('keeps the decoded row groups last read within a byte budget, most recent first (the last one always)', async () => {
    const file = join(dir, 'hub', 'data', 'train-00000-of-00001.parquet');
    const tiny = new ParquetRecords(() => file, 1); // smaller than any group: only the last one read stays
    expect((await tiny.read(0, 0, 1, 1)).record?.id).toBe('b');
    expect((await tiny.read(0, 2, 0, 6)).record).toEqual(RECORDS[6]);
    expect(tiny.cached).toEqual(['0:2']);
    const roomy = new ParquetRecords(() => file);
    for (const [group, row] of [
      [0, 0],
      [1, 0],
      [2, 0],
      [1, 2],
    ] as const)
      await roomy.read(0, group, row, 0);
    expect(roomy.cached).toEqual(['0:1', '0:2', '0:0']);
    const bytes = (await roomy.file(0)).groupBytes;
    expect(bytes).toHaveLength(3);
    const budget = new ParquetRecords(() => file, bytes[1]! + bytes[2]!);
    for (const group of [0, 1, 2]) await budget.rows(0, group);
    expect(budget.cached).toEqual(['0:2', '0:1']);
    await get('/api/record?n=0');
    await get('/api/record?n=6');
    expect((viewer.index as unknown as { parquet: ParquetRecords }).parquet.cached[0]).toBe('0:2');
  });
});

/** Write a Parquet file with DuckDB (an independent writer): rows the format-parquet writer would never write. */
async function duckCopy(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('the viewer on bad Parquet', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-view-badparquet-'));
    const bad = join(dir, 'bad.parquet').replaceAll("'", "''");
    await duckCopy(`COPY (SELECT * FROM (VALUES
        ('ok', [{'from': 'human', 'value': 'hi'}, {'from': 'gpt', 'value': 'hello'}]),
        ('none', NULL),
        ('bad', [{'from': 'human', 'value': NULL}])
      ) t(id, conversations)) TO '${bad}' (FORMAT parquet)`);
    await writeParquetHub(join(dir, 'hub'));
    const whole = await readFile(join(dir, 'hub', 'data', 'train-00000-of-00001.parquet'));
    await writeFile(join(dir, 'cut.parquet'), whole.subarray(0, Math.floor(whole.length / 2)));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists rows that are not LLaVA records with parquet/invalid-row, and a truncated file with parquet/unreadable', async () => {
    const viewer = await startViewer({
      inputs: [join(dir, 'bad.parquet'), join(dir, 'cut.parquet'), join(dir, 'hub')],
      countTokens: false,
    });
    try {
      const { index } = viewer;
      expect(index.files.map((f) => [f.name, f.records])).toEqual([
        ['bad.parquet', 3],
        ['cut.parquet', 0],
        ['train-00000-of-00001.parquet', 7],
      ]);
      expect(index.fileDiagnostics.map((d) => d.ruleId)).toContain('parquet/unreadable');
      expect([0, 1, 2].map((n) => index.rulesOf(n))).toEqual([[], ['parquet/invalid-row'], ['parquet/invalid-row']]);
      expect(index.sources[index.sourceCode[1]!]).toBe('(invalid row)');
      const token = new URL(viewer.url).searchParams.get('token')!;
      const view = JSON.parse((await raw(viewer.port, '/api/record?n=2', { 'x-llava-token': token })).body.toString());
      expect(view.value).toBeNull();
      expect(view.text).toContain('"bad"');
      expect(view.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual(['parquet/invalid-row']);
      expect((await raw(viewer.port, '/api/record?n=9', { 'x-llava-token': token })).status).toBe(200); // the hub
    } finally {
      await viewer.close();
    }
  });

  it('refuses to serve when the only input is an unreadable Parquet file, and says why', async () => {
    await expect(startViewer({ inputs: [join(dir, 'cut.parquet')], countTokens: false })).rejects.toMatchObject({
      diagnostic: { ruleId: 'parquet/unreadable' },
    });
  });
});
