import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from './generate.js';
import { collectMediaRefs, crc32, encodePng, writeImageTree } from './images.js';

let dir: string;
let chat: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-datagen-img-'));
  chat = join(dir, 'chat.json');
  await generate('cc3m-chat', { out: chat, records: 400, seed: 3 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('encoders', () => {
  it('writes PNGs with valid signature and chunk CRCs', () => {
    const png = encodePng(5, 3, [10, 20, 30]);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    let at = 8;
    const types: string[] = [];
    while (at < png.length) {
      const len = png.readUInt32BE(at);
      const body = png.subarray(at + 4, at + 8 + len);
      expect(png.readUInt32BE(at + 8 + len)).toBe(crc32(body));
      types.push(body.subarray(0, 4).toString('latin1'));
      at += 12 + len;
    }
    expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('collectMediaRefs', () => {
  it('finds image strings, image lists and videos but not quoted text inside values', async () => {
    const file = join(dir, 'refs.jsonl');
    const lines = [
      { id: 1, image: 'a/1.jpg', conversations: [{ from: 'human', value: 'say "image": "fake.jpg" <image>' }] },
      { id: 2, image: ['b/1.jpg', 'b/2.png'], conversations: [] },
      { id: 3, video: 'v/x.mp4', conversations: [] },
      { id: 4, image: 'a/1.jpg', conversations: [] },
    ];
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(await collectMediaRefs(file)).toEqual(['a/1.jpg', 'b/1.jpg', 'b/2.png', 'v/x.mp4']);
  });

  it('matches across read-chunk boundaries', async () => {
    const file = join(dir, 'big.json');
    const recs = Array.from({ length: 3000 }, (_, i) => ({ id: i, image: `d/${i}.jpg`, pad: 'x'.repeat(i % 5000) }));
    await writeFile(file, JSON.stringify(recs, null, 2));
    const refs = await collectMediaRefs(file);
    expect(refs).toHaveLength(3000);
    expect(refs[2999]).toBe('d/2999.jpg');
  });
});

describe('writeImageTree', () => {
  it('writes valid tiny images, leaves ~15% of CC-3M missing and plants broken files', async () => {
    const out = join(dir, 'images');
    const r = await writeImageTree({ dataset: chat, dir: out, seed: 3 });
    expect(r.referenced).toBe(400);
    expect(r.written + r.missing.length).toBe(400);
    expect(r.missing.length / 400).toBeGreaterThan(0.08);
    expect(r.missing.length / 400).toBeLessThan(0.22);
    expect((await readdir(out)).length).toBe(r.written);
    for (const m of r.missing) expect(existsSync(join(out, m))).toBe(false);
    expect(r.broken.map((b) => b.kind).sort()).toEqual(['gif-as-jpg', 'text-as-jpg', 'truncated-jpeg']);
    const brokenPaths = new Set(r.broken.map((b) => b.path));
    const good = (await readdir(out)).find((f) => !brokenPaths.has(f))!;
    const decoded = jpeg.decode(await readFile(join(out, good)));
    expect(decoded.width).toBeGreaterThan(0);
    const gif = r.broken.find((b) => b.kind === 'gif-as-jpg')!;
    expect((await readFile(join(out, gif.path))).subarray(0, 6).toString('latin1')).toBe('GIF89a');
    const truncated = r.broken.find((b) => b.kind === 'truncated-jpeg')!;
    expect(() => jpeg.decode(readFileSync(join(out, truncated.path)))).toThrow();
  });

  it('writes the same tree into a real zip', async () => {
    const zip = join(dir, 'images.zip');
    const r = await writeImageTree({ dataset: chat, zip, seed: 3, missing: 0.5, broken: 0 });
    const buf = await readFile(zip);
    const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(eocd).toBeGreaterThan(0);
    expect(buf.readUInt16LE(eocd + 10)).toBe(r.written);
    expect(r.written).toBeLessThan(300);
    expect(buf.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))).toBe(true);
  });

  it('never writes outside the target folder', async () => {
    const out = join(dir, 'safe');
    const r = await writeImageTree({ refs: ['../escape.jpg', '/abs.jpg', 'ok/a.png'], dir: out, broken: 0 });
    expect(r.skipped).toEqual(['../escape.jpg', '/abs.jpg']);
    expect(existsSync(join(dir, 'escape.jpg'))).toBe(false);
    expect((await readFile(join(out, 'ok/a.png'))).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('requires exactly one of dir and zip', async () => {
    await expect(writeImageTree({ refs: [] })).rejects.toThrow(/exactly one/);
  });
});
