import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';
import { StoredZipWriter } from './zip-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llavakit-zipw-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Python's zipfile, an independent reader: names, sizes and a CRC check of every entry. */
function pythonRead(path: string): { names: string[]; sizes: number[]; bad: string | null; zip64: boolean } | null {
  const script = [
    'import json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'infos = z.infolist()',
    'data = open(sys.argv[1], "rb").read()',
    'print(json.dumps({"names": [i.filename for i in infos], "sizes": [i.file_size for i in infos],',
    '  "bad": z.testzip(), "zip64": data.find(b"PK\\x06\\x06") >= 0}))',
  ].join('\n');
  try {
    return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // no python3 here
    throw error;
  }
}

describe('StoredZipWriter', () => {
  const files: [string, Uint8Array][] = [
    ['GCC_train_000000001.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xd9])],
    ['images/00453/004539375.jpg', new Uint8Array(70_000).map((_, i) => i % 251)],
    ['caf\u00e9/empty.png', new Uint8Array(0)],
  ];

  it.each(['auto', 'always'] as const)('writes archives other readers read (zip64: %s)', async (zip64) => {
    const path = join(dir, `small-${zip64}.zip`);
    const writer = new StoredZipWriter(path, { zip64 });
    for (const [name, bytes] of files) writer.add(name, bytes);
    expect(writer.close()).toBe(3);
    const zip = await readFile(path);
    // local header of the first entry: stored, UTF-8 names, CRC and sizes in place
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    expect(zip.readUInt16LE(8)).toBe(0);
    expect(zip.readUInt32LE(14)).toBe(crc32(files[0]![1]));
    expect(zip.readUInt32LE(22)).toBe(4);
    const read = pythonRead(path);
    if (!read) return;
    expect(read).toEqual({
      names: files.map(([n]) => n),
      sizes: files.map(([, b]) => b.length),
      bad: null,
      zip64: zip64 === 'always',
    });
  });

  it('switches to ZIP64 records past 65,535 entries', async () => {
    const path = join(dir, 'many.zip');
    const writer = new StoredZipWriter(path);
    const one = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 70_000; i++) writer.add(`f/${i}.bin`, one);
    expect(writer.close()).toBe(70_000);
    const read = pythonRead(path);
    if (!read) return;
    expect(read.names).toHaveLength(70_000);
    expect(read.names[69_999]).toBe('f/69999.bin');
    expect(read.bad).toBeNull();
    expect(read.zip64).toBe(true);
  });
});
