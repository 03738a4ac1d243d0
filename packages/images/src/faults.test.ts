/**
 * Fault suite of @llavakit/images (issue 11): image reads confined at the moment of reading, zip entries read in
 * bounded memory with a size limit, paths under --image-root never leaving it, absurd header dimensions reported.
 * Real files, real symlinks swapped after listing, real FIFOs, real deflate streams.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildZip, fixtures, makeTemp, removeTemp, writeTree } from './_testing.js';
import { checkImages } from './check.js';
import { checkBatch, decodeVerdict } from './check-batch.js';
import { ImageReadRefused } from './confined.js';
import { createImageResolver } from './resolver.js';
import type { FoundResolution, ImageResolver } from './resolver-types.js';
import { rewriteImagePath, rewriteUnderRoot } from './rewrite.js';
import { MAX_IMAGE_PIXELS, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, sniffImage } from './sniff.js';
import { parseImageSourceSpec } from './sources.js';
import { ZipIndex } from './zip.js';

// Real files, symlinks and half a GiB of inflating: seconds on a loaded shared machine.
vi.setConfig({ testTimeout: 30_000 });

/** Whether `mkfifo` exists here (the FIFO case skips without it). */
const HAS_MKFIFO = (() => {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let tmp: string;
beforeAll(async () => {
  tmp = await makeTemp('llavakit-faults-');
});
afterAll(() => removeTemp(tmp));

/** A PNG is the secret: every image in the sources is a JPEG named .jpg, so a read secret shows as a mismatch. */
const SECRET = fixtures.png(7, 7);

async function found(resolver: ImageResolver, ref: string): Promise<FoundResolution> {
  const r = await resolver.resolve(ref);
  expect(r.status).toBe('found');
  return r as FoundResolution;
}

describe('image reads are confined at the moment of reading (swaps after listing)', () => {
  for (const io of ['sync', 'async'] as const) {
    it(`refuses a file, a parent folder and an inside symlink swapped out of the source after listing (io ${io})`, async () => {
      const base = join(tmp, `swap-${io}`);
      const root = join(base, 'root');
      await writeTree(root, {
        'a.jpg': fixtures.jpeg(),
        'sub/b.jpg': fixtures.jpeg(),
        'c.jpg': fixtures.jpeg(),
        'keep.jpg': fixtures.jpeg(),
      });
      await writeTree(join(base, 'outside'), { 'secret.png': SECRET, 'b.jpg': SECRET });
      await symlink(join(root, 'c.jpg'), join(root, 'link.jpg')); // inside: allowed
      const resolver = createImageResolver([parseImageSourceSpec(root)], { io });
      const refs = ['a.jpg', 'sub/b.jpg', 'link.jpg', 'keep.jpg'];
      const hits = await Promise.all(refs.map((ref) => found(resolver, ref))); // listed, symlink checked

      // The swaps: a.jpg becomes a symlink out, sub/ becomes a symlink to an outside folder, link.jpg is re-pointed.
      await rm(join(root, 'a.jpg'));
      await symlink(join(base, 'outside', 'secret.png'), join(root, 'a.jpg'));
      await rename(join(root, 'sub'), join(base, 'sub-moved'));
      await symlink(join(base, 'outside'), join(root, 'sub'));
      await rm(join(root, 'link.jpg'));
      await symlink(join(base, 'outside', 'secret.png'), join(root, 'link.jpg'));

      // Resolution still answers from the cached listing: only the read can notice.
      for (const ref of refs) expect((await resolver.resolve(ref)).status).toBe('found');
      for (const ref of refs.slice(0, 3)) {
        const error = await resolver.readBytes(ref).catch((e: unknown) => e);
        expect(DiagnosticError.is(error), ref).toBe(true);
        expect((error as DiagnosticError).diagnostic.ruleId).toBe('images/outside-root');
        expect((error as DiagnosticError).diagnostic.message).toMatch(/outside the image sources/);
      }
      expect(Buffer.from(await resolver.readBytes('keep.jpg'))).toEqual(Buffer.from(fixtures.jpeg()));
      for (const hit of hits.slice(0, 3)) {
        const buffer = new Uint8Array(SNIFF_HEAD_BYTES);
        await expect(resolver.readHeadTail(hit, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer)).rejects.toBeInstanceOf(
          ImageReadRefused,
        );
        if (io === 'sync') {
          expect(() => resolver.readHeadTailSync(hit, SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, buffer)).toThrow(
            ImageReadRefused,
          );
        }
      }

      // images check: the worker's batch (lean path for listed regular files) and the in-thread checker.
      const batch = await checkBatch(resolver, refs);
      const cursor = { next: 0 };
      const verdicts = refs.map((_, i) => decodeVerdict(batch, i, cursor).outcome);
      expect(verdicts.map((v) => v.status)).toEqual(['refused', 'refused', 'refused', 'ok']);
      for (const v of verdicts.slice(0, 3)) expect(v.findings[0]?.rule.id).toBe('images/outside-root');
      const summary = await checkImages(
        refs.map((ref, i) => ({ ref, recordIndex: i, file: 'data.json' })),
        resolver,
        { workers: 0 },
      );
      expect(summary.total).toMatchObject({ refused: 3, ok: 1, formatMismatch: 0 });
      const ids = summary.diagnostics.map((d) => d.ruleId);
      expect(ids).toEqual(['images/outside-root', 'images/outside-root', 'images/outside-root']);
      expect(summary.diagnostics.map((d) => d.recordIndex)).toEqual([0, 1, 2]);
      await resolver.close();
    });
  }

  it.skipIf(!HAS_MKFIFO)(
    'never blocks on a FIFO swapped in after listing, and says it is not a regular file (needs mkfifo)',
    async () => {
      const root = join(tmp, 'fifo');
      await writeTree(root, { 'x.jpg': fixtures.jpeg() });
      const resolver = createImageResolver([parseImageSourceSpec(root)]);
      await found(resolver, 'x.jpg');
      await rm(join(root, 'x.jpg'));
      execFileSync('mkfifo', [join(root, 'x.jpg')]);
      const error = (await resolver.readBytes('x.jpg').catch((e: unknown) => e)) as DiagnosticError;
      expect(error.diagnostic.ruleId).toBe('images/unreadable');
      expect(error.diagnostic.message).toMatch(/not a regular file/);
      await resolver.close();
    },
  );
});

/** A deflate stream of `copies` × 16 MiB of zeros: one full-flushed block repeated, then an empty final block. */
function zerosDeflated(copies: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(16 << 20), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array<Buffer>(copies).fill(block), Buffer.from([0x03, 0x00])]);
}

/** A one-entry zip around raw deflate data, declaring `declared` bytes (CRC 0: never checked here). */
function zipOf(name: string, data: Buffer, declared: number): Buffer {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(n.length, 28);
  const cdOffset = 30 + n.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, n, data, central, n, end]);
}

describe('zip entries: bounded memory and a size limit', () => {
  it('refuses an entry that declares more than maxImageBytes before inflating anything', async () => {
    const path = join(tmp, 'declared.zip');
    await writeFile(path, zipOf('big.jpg', zerosDeflated(8), 128 << 20)); // 128 MiB of zeros, declared
    const zip = await ZipIndex.open(path);
    await expect(zip.read(0)).rejects.toThrow(/declares 134217728 bytes, over the limit of 67108864/);
    await expect(zip.readHeadTail(0, new Uint8Array(64), 64, 64)).rejects.toBeInstanceOf(ImageReadRefused);
    zip.close();
    const resolver = createImageResolver([parseImageSourceSpec(path)]);
    const error = (await resolver.readBytes('big.jpg').catch((e: unknown) => e)) as DiagnosticError;
    expect(error.diagnostic.ruleId).toBe('images/too-large');
    const summary = await checkImages([{ ref: 'big.jpg', recordIndex: 0 }], resolver, { workers: 0 });
    expect(summary.diagnostics.map((d) => d.ruleId)).toEqual(['images/too-large']);
    expect(summary.total.ok).toBe(0);
    await resolver.close();
  });

  it('stops inflating a lying entry right after its declared size, and streams a huge honest one in constant memory', async () => {
    const data = zerosDeflated(32); // 512 MiB of zeros in about 1 MB
    const liar = join(tmp, 'liar.zip');
    await writeFile(liar, zipOf('x.jpg', data, 1 << 20)); // says 1 MiB
    const zip = await ZipIndex.open(liar);
    await expect(zip.read(0)).rejects.toThrow(/inflates to more than the 1048576 bytes it declares/);
    await expect(zip.readHeadTail(0, new Uint8Array(64), 64, 64)).rejects.toThrow(/inflates to more than/);
    zip.close();

    const honest = join(tmp, 'honest.zip');
    await writeFile(honest, zipOf('x.jpg', data, 512 << 20));
    const big = await ZipIndex.open(honest);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const ht = await big.readHeadTail(0, new Uint8Array(SNIFF_HEAD_BYTES), SNIFF_HEAD_BYTES, SNIFF_TAIL_BYTES, 1 << 30);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(ht.size).toBe(512 << 20);
    expect(ht.tail.length).toBe(SNIFF_TAIL_BYTES);
    expect(ht.tail.every((b) => b === 0)).toBe(true);
    // 512 MiB inflated; the process grew by far less than the entry (chunks of 64 KiB, head and tail kept).
    expect(peak - before).toBeLessThan(64 << 20);
    big.close();
  });

  it('keeps stored and deflated reads exact under the limit', async () => {
    const jpeg = fixtures.jpeg(32, 32);
    const path = join(tmp, 'fine.zip');
    await writeFile(
      path,
      await buildZip([
        { name: 'stored.jpg', bytes: jpeg },
        { name: 'deflated.jpg', bytes: jpeg, compress: true },
      ]),
    );
    const resolver = createImageResolver([parseImageSourceSpec(path)], { maxImageBytes: jpeg.length });
    for (const ref of ['stored.jpg', 'deflated.jpg']) {
      expect(Buffer.from(await resolver.readBytes(ref))).toEqual(Buffer.from(jpeg));
    }
    const tight = createImageResolver([parseImageSourceSpec(path)], { maxImageBytes: jpeg.length - 1 });
    const error = (await tight.readBytes('deflated.jpg').catch((e: unknown) => e)) as DiagnosticError;
    expect(error.diagnostic.ruleId).toBe('images/too-large');
    await resolver.close();
    await tight.close();
  });

  it('refuses a file larger than maxImageBytes for readBytes without reading it', async () => {
    const root = join(tmp, 'large-file');
    await mkdir(root);
    await writeFile(join(root, 'big.jpg'), Buffer.concat([Buffer.from(fixtures.jpeg()), Buffer.alloc(4096)]));
    const resolver = createImageResolver([parseImageSourceSpec(root)], { maxImageBytes: 1024 });
    const error = (await resolver.readBytes('big.jpg').catch((e: unknown) => e)) as DiagnosticError;
    expect(error.diagnostic.ruleId).toBe('images/too-large');
    await resolver.close();
  });
});

describe('paths under --image-root never leave it', () => {
  it('refuses "..", absolute and drive paths with images/outside-root, and rewrites the rest under the root', async () => {
    expect(rewriteUnderRoot('coco/./1.jpg', '/data/r')).toEqual({ ok: true, path: '/data/r/coco/1.jpg' });
    for (const ref of ['../x.jpg', 'a/../../x.jpg', '/etc/passwd', 'C:\\x.jpg', '..\\x.jpg']) {
      const result = rewriteUnderRoot(ref, '/data/r');
      expect(result.ok, ref).toBe(false);
      if (!result.ok) expect(result.diagnostic.ruleId).toBe('images/outside-root');
    }
    const empty = rewriteUnderRoot('', '/data/r');
    expect(!empty.ok && empty.diagnostic.ruleId).toBe('images/invalid-path');
    const viaMode = await rewriteImagePath('../x.jpg', { prefix: '/data/r' });
    expect(!viaMode.ok && viaMode.diagnostic.ruleId).toBe('images/outside-root');
  });
});

/** Patch width/height bytes into a copy of an image. */
function patched(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = new Uint8Array(bytes);
  edit(new DataView(copy.buffer));
  return copy;
}

function sofAt(jpeg: Uint8Array): number {
  for (let i = 2; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) return i;
  throw new Error('no SOF0');
}

describe('absurd header dimensions are reported, never counted ok', () => {
  const png = fixtures.png(8, 8);
  const jpeg = fixtures.jpeg(8, 8);
  const cases: Record<string, Uint8Array> = {
    'png-zero.png': patched(png, (v) => {
      v.setUint32(16, 0);
      v.setUint32(20, 0);
    }),
    'png-2e31.png': patched(png, (v) => {
      v.setUint32(16, 2 ** 31);
      v.setUint32(20, 2 ** 31);
    }),
    'png-bomb.png': patched(png, (v) => {
      v.setUint32(16, 60000);
      v.setUint32(20, 60000); // 3.6 G pixels: each side fits, Pillow refuses the area
    }),
    'jpeg-zero.jpg': patched(jpeg, (v) => v.setUint16(sofAt(jpeg) + 5, 0)),
    'gif-zero.gif': patched(fixtures.gif(), (v) => v.setUint16(6, 0, true)),
    'fine.png': png,
  };

  it('sniffImage flags them', () => {
    for (const [name, bytes] of Object.entries(cases)) {
      expect(sniffImage(bytes).badDimensions === undefined, name).toBe(name === 'fine.png');
    }
    expect(sniffImage(cases['png-bomb.png']!).badDimensions).toContain(String(MAX_IMAGE_PIXELS));
  });

  it('images check reports images/bad-dimensions (batch lean path and in-thread), and keeps them out of the ranges', async () => {
    const root = join(tmp, 'dims');
    await writeTree(root, cases);
    const refs = Object.keys(cases);
    const resolver = createImageResolver([parseImageSourceSpec(root)]);
    await Promise.all(refs.map((ref) => resolver.resolve(ref)));
    const batch = await checkBatch(resolver, refs);
    const cursor = { next: 0 };
    const outcomes = refs.map((_, i) => decodeVerdict(batch, i, cursor).outcome);
    expect(outcomes.map((o) => o.findings[0]?.rule.id ?? 'ok')).toEqual([
      ...Array(5).fill('images/bad-dimensions'),
      'ok',
    ]);
    const summary = await checkImages(
      refs.map((ref, i) => ({ ref, recordIndex: i })),
      resolver,
      { workers: 0 },
    );
    expect(summary.total.ok).toBe(1);
    expect(summary.ruleCounts['images/bad-dimensions']).toEqual({ error: 5 });
    expect(summary.byPrefix['(bare)']?.width).toEqual({ min: 8, max: 8 });
    await resolver.close();
  });
});
