/**
 * Damaged data pages: every read ends, with rows or a `parquet/unreadable` diagnostic naming the file — never a loop
 * that does not end (hyparquet 1.33 looped forever on a page header whose level lengths a damaged byte dropped, and
 * its level decoder could be told to write billions of levels; see patches/hyparquet@1.33.0.patch) and never a
 * crash that is not a diagnostic. The reads run in a child process (the built package) that a timer kills, so a
 * hang fails these tests instead of hanging them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LlavaRecord } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { type ColumnChunk, parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blob, duck, lit, tempDir, write } from './__fixtures__/helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const child = join(here, '__fixtures__/read-child.mjs');
const built = existsSync(join(here, '../dist/index.js'));

interface Failure {
  diagnostic: boolean;
  ruleId?: string;
  file?: string;
  message: string;
}
interface Outcome {
  file: string;
  rows: number;
  rejected: number;
  error: Failure | null;
  viewRows: number;
  viewError: Failure | null;
}

/** How long one file's two reads may take in the child before it counts as a hang. */
const PER_FILE_MS = 5_000;

/**
 * Read `files` in a child process, one JSON line each; a file whose reads do not end within {@link PER_FILE_MS}
 * has the child killed (SIGKILL) and is reported as hung (the files after it are read by a new child).
 */
async function readGuarded(files: readonly string[]): Promise<{ outcomes: Outcome[]; hung: string[] }> {
  const outcomes: Outcome[] = [];
  const hung: string[] = [];
  let rest = [...files];
  while (rest.length > 0) {
    const batch = rest;
    const done = await new Promise<{ read: Outcome[]; killed: boolean; stderr: string }>((resolve) => {
      const proc = spawn(process.execPath, [child, ...batch], { stdio: ['ignore', 'pipe', 'pipe'] });
      const read: Outcome[] = [];
      let killed = false;
      let buffered = '';
      let stderr = '';
      let timer: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          killed = true;
          proc.kill('SIGKILL');
        }, PER_FILE_MS);
      };
      arm();
      proc.stdout.setEncoding('utf8').on('data', (text: string) => {
        buffered += text;
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          read.push(JSON.parse(buffered.slice(0, nl)) as Outcome);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf('\n');
          arm();
        }
      });
      proc.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
      });
      proc.on('close', () => {
        clearTimeout(timer);
        resolve({ read, killed, stderr });
      });
    });
    outcomes.push(...done.read);
    rest = batch.slice(done.read.length);
    if (rest.length === 0) break;
    // the child stopped before every file was read: killed on a hang, or crashed (a crash is a failure too)
    if (!done.killed) throw new Error(`the reading child died on ${rest[0]}: ${done.stderr}`);
    hung.push(rest[0]!);
    rest = rest.slice(1);
  }
  return { outcomes, hung };
}

/** Every outcome ended with rows, or with a `parquet/unreadable` diagnostic that names its file. */
function expectEnded(outcomes: readonly Outcome[], rows: number): void {
  for (const o of outcomes) {
    for (const [error, read] of [
      [o.error, o.rows + o.rejected],
      [o.viewError, o.viewRows],
    ] as const) {
      if (error) {
        expect({ file: o.file, ...error }).toMatchObject({
          diagnostic: true,
          ruleId: 'parquet/unreadable',
          file: o.file,
        });
      } else expect({ file: o.file, read }).toEqual({ file: o.file, read: rows });
    }
  }
}

/** Where the column chunks of a file lie: from the first chunk's start to the last chunk's end. */
function chunkRange(bytes: Uint8Array<ArrayBuffer>): { start: number; end: number; columns: Map<string, ColumnChunk> } {
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const columns = new Map<string, ColumnChunk>();
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const group of metadata.row_groups) {
    for (const column of group.columns) {
      const meta = column.meta_data!;
      const from = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      start = Math.min(start, from);
      end = Math.max(end, from + Number(meta.total_compressed_size));
      columns.set(meta.path_in_schema.join('.'), column);
    }
  }
  return { start, end, columns };
}

/** A copy of `bytes` with byte `at` set to `value`, written beside `name`. */
async function damaged(dir: string, name: string, bytes: Uint8Array, at: number, value: number): Promise<string> {
  const copy = new Uint8Array(bytes);
  copy[at] = value;
  const file = join(dir, `${name}-${at}-${value}.parquet`);
  await writeFile(file, copy);
  return file;
}

const jpeg = encodeTinyImage('jpeg', { width: 8, height: 8 });

/** 20 rows as llavakit writes them: ids, two turns each, an image path (every fourth row embeds its bytes). */
const records: LlavaRecord[] = Array.from({ length: 20 }, (_, i) => ({
  id: `r${i}`,
  image: `img/${i}.jpg`,
  conversations: [
    { from: 'human', value: `<image>\nWhat is in picture ${i}?` },
    { from: 'gpt', value: `Picture ${i} shows ${'a cat '.repeat(i % 3)}on a mat.` },
  ],
}));
const images = new Map(records.filter((_, i) => i % 4 === 0).map((r) => [r.image as string, jpeg]));

describe.skipIf(!built)('damaged pages and footers: a diagnostic, never a hang (needs the built package)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ours: Uint8Array<ArrayBuffer>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await write(records, join(dir, 'ours.parquet'), {}, images);
    ours = new Uint8Array(await readFile(join(dir, 'ours.parquet')));
  });
  afterAll(() => cleanup());

  it('reads the undamaged file in full (the guard itself lets good files through)', async () => {
    const { outcomes, hung } = await readGuarded([join(dir, 'ours.parquet')]);
    expect(hung).toEqual([]);
    expect(outcomes).toMatchObject([{ rows: 20, rejected: 0, error: null, viewRows: 20, viewError: null }]);
  });

  it('the image.path page whose header loses its level lengths (hyparquet looped forever): parquet/unreadable', async () => {
    const { columns } = chunkRange(ours);
    const meta = columns.get('image.path')!.meta_data!;
    const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
    // the byte that ends the page's DATA_PAGE_V2 header early, dropping its definition and repetition level lengths
    // (found by the scan below; each of these hung before the fix)
    const files = await Promise.all([
      damaged(dir, 'path', ours, start + 17, 0x00),
      damaged(dir, 'path', ours, start + 18, 0xff),
      damaged(dir, 'path', ours, start + 19, 0x00),
    ]);
    const { outcomes, hung } = await readGuarded(files);
    expect(hung).toEqual([]);
    expect(outcomes).toHaveLength(3);
    for (const o of outcomes) {
      expect(o.error).toMatchObject({ diagnostic: true, ruleId: 'parquet/unreadable', file: o.file });
      // the place: the file (above), the rows, the column and the byte offset of the damaged page
      expect(o.error?.message).toContain(
        `Cannot read rows 0–19 of ${o.file}: column image.path, page at byte ${start}:`,
      );
      expect(o.viewError).toMatchObject({ diagnostic: true, ruleId: 'parquet/unreadable', file: o.file });
    }
  });

  it('every byte of the column chunks set to 0x00 and to 0xff: each read ends with its rows or a diagnostic', async () => {
    const { start, end } = chunkRange(ours);
    const files: string[] = [];
    for (let at = start; at < end; at++) {
      for (const value of [0x00, 0xff]) if (ours[at] !== value) files.push(await damaged(dir, 'ours', ours, at, value));
    }
    expect(files.length).toBeGreaterThan(500);
    const { outcomes, hung } = await readGuarded(files);
    expect(hung).toEqual([]);
    expect(outcomes).toHaveLength(files.length);
    expectEnded(outcomes, records.length);
    // the damage is seen: many reads end in a diagnostic (a scan that never fails would prove nothing)
    expect(outcomes.filter((o) => o.error).length).toBeGreaterThan(50);
  }, 120_000);

  it('every byte of the footer set to 0x00 and to 0xff: each read ends with its rows or a diagnostic', async () => {
    const footerLength = new DataView(ours.buffer, ours.byteOffset, ours.byteLength).getUint32(ours.length - 8, true);
    const files: string[] = [];
    for (let at = ours.length - 8 - footerLength; at < ours.length - 8; at++) {
      for (const value of [0x00, 0xff])
        if (ours[at] !== value) files.push(await damaged(dir, 'footer', ours, at, value));
    }
    const { outcomes, hung } = await readGuarded(files);
    expect(hung).toEqual([]);
    expect(outcomes).toHaveLength(files.length);
    expectEnded(outcomes, records.length);
    // a footer whose row counts disagree (rows that would vanish without a word) is refused, like one that does not parse
    const refused = outcomes.map((o) => o.error?.message ?? '');
    expect(refused.filter((m) => m.startsWith('Cannot read the footer of ')).length).toBeGreaterThan(10);
    expect(
      refused.some((m) => /: (its row groups hold \d+ rows, the footer says 20|.* has no valid row count)$/.test(m)),
    ).toBe(true);
  }, 120_000);

  it('a DuckDB-written Hub-shaped file (v1 pages, dictionaries, an image struct), every third byte damaged', async () => {
    const file = join(dir, 'hub.parquet');
    const rows = Array.from(
      { length: 12 },
      (_, i) =>
        `(${lit(`id-${i}`)}, [{'from': 'human', 'value': ${lit(`<image>\nQ${i}`)}}, {'from': 'gpt', 'value': ${lit(`A${i % 3}`)}}], ${lit(['coco', 'gqa'][i % 2]!)}, ${i % 5 === 0 ? 'NULL' : `{'bytes': ${blob(jpeg)}, 'path': ${lit(`${i}.jpg`)}}`})`,
    );
    await duck(`COPY (SELECT * FROM (VALUES ${rows.join(', ')}) t(id, conversations, data_source, image))
      TO ${lit(file)} (FORMAT parquet, ROW_GROUP_SIZE 6)`);
    const hub = new Uint8Array(await readFile(file));
    const { start, end } = chunkRange(hub);
    const files: string[] = [];
    for (let at = start; at < end; at += 3) {
      for (const value of [0x00, 0xff]) if (hub[at] !== value) files.push(await damaged(dir, 'hub', hub, at, value));
    }
    const { outcomes, hung } = await readGuarded([file, ...files]);
    expect(hung).toEqual([]);
    expect(outcomes[0]).toMatchObject({ rows: 12, error: null, viewRows: 12, viewError: null });
    expectEnded(outcomes, 12);
  }, 120_000);
});
