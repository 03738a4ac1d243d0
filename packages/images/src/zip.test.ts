import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, fixtures, makeTemp, patchZipNames, removeTemp } from './_testing.js';
import { SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, sniffImage } from './sniff.js';
import { ZipIndex } from './zip.js';

let tmp: string;
beforeAll(async () => {
  tmp = await makeTemp('llavakit-zip-');
});
afterAll(() => removeTemp(tmp));

/** Offsets of every central directory record in a zip. */
function centralRecords(zip: Buffer): number[] {
  const out: number[] = [];
  for (let at = zip.indexOf('PK\u0001\u0002'); at >= 0; at = zip.indexOf('PK\u0001\u0002', at + 4)) out.push(at);
  return out;
}

async function open(name: string, zip: Buffer): Promise<ZipIndex> {
  const path = join(tmp, name);
  await writeFile(path, zip);
  return ZipIndex.open(path);
}

describe('ZipIndex', () => {
  // 200 KB of incompressible bytes behind a JPEG header: larger than the 64 KiB head, so the tail is read apart
  const big = Buffer.concat([
    Buffer.from(fixtures.jpeg(40, 30)).subarray(0, -2),
    Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)),
    Buffer.from([0xff, 0xd9]),
  ]);
  const jpg = fixtures.jpeg(64, 48);

  it('reads heads and tails of stored, deflated, data-descriptor and ZIP64 entries with blocking reads', async () => {
    const zip = await open(
      'kinds.zip',
      await buildZip([
        { name: 'small.jpg', bytes: jpg },
        { name: 'big.jpg', bytes: big },
        { name: 'deflated.jpg', bytes: big, compress: true },
        { name: 'descriptor.jpg', bytes: jpg, dataDescriptor: true, compress: true },
        { name: 'wide.jpg', bytes: big, zip64: true },
      ]),
    );
    expect(zip.size).toBe(5);
    const buffer = new Uint8Array(SNIFF_HEAD_BYTES);
    for (const [name, bytes] of [
      ['small.jpg', jpg],
      ['big.jpg', big],
      ['deflated.jpg', big],
      ['descriptor.jpg', jpg],
      ['wide.jpg', big],
    ] as const) {
      const entry = zip.find(name)!;
      expect(zip.info(entry)).toMatchObject({ name, size: bytes.length });
      const sync = zip.readHeadTailSync(entry, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES);
      // Deflated entries have no blocking path: they are inflated in chunks, asynchronously.
      expect(sync === undefined).toBe(zip.info(entry).compressionMethod !== 0);
      const ht = sync ?? (await zip.readHeadTail(entry, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES));
      const streamed = await zip.readHeadTail(
        entry,
        new Uint8Array(SNIFF_HEAD_BYTES),
        SNIFF_HEAD_BYTES,
        SNIFF_TAIL_BYTES,
      );
      expect(Buffer.from(streamed.tail)).toEqual(Buffer.from(ht.tail));
      expect(streamed.size).toBe(ht.size);
      expect(ht.size).toBe(bytes.length);
      expect(Buffer.from(ht.head)).toEqual(Buffer.from(bytes).subarray(0, Math.min(bytes.length, SNIFF_HEAD_BYTES)));
      expect(Buffer.from(ht.tail)).toEqual(Buffer.from(bytes).subarray(-Math.min(bytes.length, SNIFF_TAIL_BYTES)));
      expect(sniffImage(ht.head, { tail: ht.tail, size: ht.size })).toMatchObject({ format: 'jpeg', truncated: false });
      expect(Buffer.from(await zip.read(entry))).toEqual(Buffer.from(bytes));
    }
    zip.close();
    expect(() => zip.readHeadTailSync(0, buffer, 10, 10)).toThrow(/closed/);
    expect(zip.find('small.jpg')).toBe(0); // lookups go on working
  }, 30_000); // well under a second alone; generous for a loaded shared machine

  it('keeps the first of two equal names, skips folders and lists unsafe names apart', async () => {
    const built = await buildZip([
      { name: 'a/one.jpg', bytes: jpg },
      { name: 'a/one.jpg', bytes: fixtures.png(2, 2) },
      { name: 'zz/evil.jpg', bytes: jpg },
    ]);
    const zip = await open('names.zip', patchZipNames(built, 'zz/evil.jpg', '../evil.jpg'));
    expect(zip.entryNames()).toEqual(['a/one.jpg']);
    expect(Buffer.from(await zip.read(zip.find('a/one.jpg')!))).toEqual(Buffer.from(jpg));
    expect(zip.unsafe).toEqual([{ name: '../evil.jpg', reason: expect.stringContaining('..') }]);
    expect(zip.topFolder).toBe('a');
    expect(zip.find('one.jpg')).toBe(0); // under the single top folder
    zip.close();
  });

  it('decodes CP437 names without the UTF-8 flag, and UTF-8 names with it', async () => {
    const built = await buildZip([
      { name: 'caf\u00e9.jpg', bytes: jpg }, // yazl sets the UTF-8 flag
      { name: 'cafX.jpg', bytes: jpg },
    ]);
    // turn the second name into CP437 0x82 (é) without the UTF-8 flag, in its central record
    const patched = Buffer.from(built);
    const [, second] = centralRecords(patched);
    patched.writeUInt16LE(patched.readUInt16LE(second! + 8) & ~0x0800, second! + 8);
    patched[second! + 46 + 3] = 0x82;
    const zip = await open('cp437.zip', patched);
    expect(zip.entryNames()).toEqual(['caf\u00e9.jpg']); // both decode to the same name; the first counts
    zip.close();
  });

  it('refuses encrypted entries, unknown methods and data past the central directory when reading', async () => {
    const built = await buildZip([
      { name: 'locked.jpg', bytes: jpg },
      { name: 'bzip.jpg', bytes: jpg },
      { name: 'fine.jpg', bytes: jpg },
    ]);
    const patched = Buffer.from(built);
    const [locked, bzip] = centralRecords(patched);
    patched.writeUInt16LE(patched.readUInt16LE(locked! + 8) | 1, locked! + 8);
    patched.writeUInt16LE(12, bzip! + 10);
    const zip = await open('odd.zip', patched);
    const buffer = new Uint8Array(SNIFF_HEAD_BYTES);
    await expect(zip.read(zip.find('locked.jpg')!)).rejects.toThrow(/encrypted/);
    expect(zip.readHeadTailSync(zip.find('locked.jpg')!, buffer, 64, 64)).toBeUndefined();
    await expect(zip.readHeadTail(zip.find('locked.jpg')!, buffer, 64, 64)).rejects.toThrow(/encrypted/);
    await expect(zip.read(zip.find('bzip.jpg')!)).rejects.toThrow(/method 12/);
    expect(zip.readHeadTailSync(zip.find('fine.jpg')!, buffer, 64, 64)?.size).toBe(jpg.length);
    zip.close();

    // an entry whose size runs into the central directory
    const long = Buffer.from(built);
    const [first] = centralRecords(long);
    long.writeUInt32LE(long.length, first! + 20);
    long.writeUInt32LE(long.length, first! + 24);
    const bad = await open('long.zip', long);
    expect(() => bad.readHeadTailSync(0, buffer, 64, 64)).toThrow(/runs past/);
    await expect(bad.read(0)).rejects.toThrow(/runs past/);
    bad.close();
  });

  it('rejects files that are no zip archive', async () => {
    await writeFile(join(tmp, 'not.zip'), 'PK\u0003\u0004 this is not really a zip');
    await expect(ZipIndex.open(join(tmp, 'not.zip'))).rejects.toThrow(/end of central directory/);
    await expect(ZipIndex.open(join(tmp, 'absent.zip'))).rejects.toThrow(/ENOENT/);
  });

  it('stops a deflated entry at its declared size (no zip bomb)', async () => {
    const built = await buildZip([{ name: 'bomb.bin', bytes: new Uint8Array(1 << 20), compress: true }]);
    const [record] = centralRecords(built);
    built.writeUInt32LE(1000, record! + 24); // declares 1000 bytes, inflates to 1 MiB
    const zip = await open('bomb.zip', built);
    await expect(zip.read(0)).rejects.toThrow(/inflates to more than the 1000 bytes/);
    await expect(zip.readHeadTail(0, new Uint8Array(64), 64, 64)).rejects.toThrow(/inflates to more than/);
    zip.close();
  });

  it('fails cleanly on corrupted archives: an Error on open or on read, never a crash or a wild allocation', async () => {
    const good = await buildZip([
      { name: 'a/stored.jpg', bytes: jpg },
      { name: 'a/deflated.jpg', bytes: big, compress: true },
      { name: 'a/wide.jpg', bytes: jpg, zip64: true, dataDescriptor: true },
    ]);
    const path = join(tmp, 'corrupt.zip');
    const buffer = new Uint8Array(SNIFF_HEAD_BYTES);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            // mostly the structures: the central directory and end records, and the first local header
            fc.oneof(fc.integer({ min: good.length - 400, max: good.length - 1 }), fc.nat(99), fc.nat(good.length - 1)),
            fc.oneof(fc.constantFrom(0x00, 0xff, 0x50, 0x4b), fc.integer({ min: 0, max: 255 })),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.option(fc.nat(good.length - 1), { nil: undefined }),
        async (edits, cut) => {
          const bytes = Buffer.from(good.subarray(0, cut ?? good.length));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          await writeFile(path, bytes);
          let zip: ZipIndex;
          try {
            zip = await ZipIndex.open(path);
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
            return;
          }
          try {
            for (let n = 0; n < zip.size; n++) {
              for (const attempt of [
                () => zip.readHeadTailSync(n, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES),
                () => zip.readHeadTail(n, buffer, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES),
                () => zip.read(n),
              ]) {
                try {
                  const out = await attempt();
                  if (out === undefined) continue;
                  const size = out instanceof Uint8Array ? out.length : out.size;
                  expect(size).toBeLessThanOrEqual(bytes.length * 1100); // deflate expands at most ~1032×
                } catch (error) {
                  expect(error).toBeInstanceOf(Error);
                }
              }
            }
          } finally {
            zip.close();
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});
