/**
 * Fault suite, images (issue 11), on the real `llava` binary: files swapped for symlinks to an outside secret while a
 * long `convert --embed-images` and an `images check` run; real zip bombs (multi-GiB entries of zeros, honest and
 * lying sizes) with the child's peak memory measured; `--image-root` paths that would leave the root; absurd header
 * dimensions.
 */
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunResult, runCli, tempDir } from '../test-utils.js';

// Peak memory of a real CLI run, measured from inside the child (no /usr/bin/time needed).

/** A CLI run and the child's peak RSS in MiB. */
interface MeasuredRun extends RunResult {
  readonly peakMiB: number;
}

/** Run the CLI with `args`, measuring its peak RSS; `dir` is a scratch folder for the preload and the report. */
async function runMeasured(dir: string, args: readonly string[], options: { cwd?: string } = {}): Promise<MeasuredRun> {
  const preload = join(dir, 'peak-rss.mjs');
  const report = join(dir, `peak-rss-${process.hrtime.bigint()}.txt`);
  await writeFile(
    preload,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { if (process.env.LLAVA_PEAK_RSS_FILE) writeFileSync(process.env.LLAVA_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)); });\n",
  );
  const result = await runCli(args, {
    ...options,
    env: { NODE_OPTIONS: `--import=${preload}`, LLAVA_PEAK_RSS_FILE: report },
  });
  const kib = Number(await readFile(report, 'utf8').catch(() => 'NaN'));
  return { ...result, peakMiB: kib / 1024 };
}

const turns = (image?: string) => [
  { from: 'human', value: image ? '<image>\nWhat is shown?' : 'Hello?' },
  { from: 'gpt', value: 'Something.' },
];

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-faults-images-')));
afterAll(() => cleanup());

/** Every data: URL in an OpenAI JSONL output, decoded. */
function embedded(jsonl: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of jsonl.matchAll(/data:image\/[a-z]+;base64,([A-Za-z0-9+/=]+)/g))
    out.push(Buffer.from(m[1]!, 'base64'));
  return out;
}

describe('image reads are confined while files are swapped for symlinks out of the source', () => {
  const IMAGES = 1500;
  const BETWEEN = 40; // text-only records between two image records: the reads are spread over the whole run
  let src: string;
  let input: string;
  let jpeg: Uint8Array;
  let secret: Buffer;

  beforeAll(async () => {
    src = join(dir, 'race/src');
    await mkdir(join(src, 'img'), { recursive: true });
    await mkdir(join(dir, 'race/outside'), { recursive: true });
    jpeg = encodeTinyImage('jpeg', { width: 8, height: 8 });
    // The secret is a PNG: every image in the source is a JPEG named .jpg, so a sniffed secret would also show up
    // as a format mismatch in `images check`, and as image/png in an embedded URL.
    secret = Buffer.from(encodeTinyImage('png', { width: 13, height: 11 }));
    await writeFile(join(dir, 'race/outside/secret.png'), secret);
    for (let i = 0; i < IMAGES; i++) await writeFile(join(src, 'img', `${i}.jpg`), jpeg);
    const records: object[] = [];
    for (let i = 0; i < IMAGES; i++) {
      records.push({ id: `r${i}`, image: `img/${i}.jpg`, conversations: turns('x') });
      for (let j = 0; j < BETWEEN; j++) records.push({ id: `t${i}-${j}`, conversations: turns() });
    }
    input = join(dir, 'race/in.json');
    await writeFile(input, JSON.stringify(records));
  });

  /**
   * Until `stop()`, toggle images picked at random (not in the order the CLI reads them) between a symlink to the
   * secret and a regular file, each with an atomic rename: about half of them lead out of the source at any moment.
   * Returns the number of swaps.
   */
  function swapLoop(): { stop: () => Promise<number> } {
    let running = true;
    let swaps = 0;
    const link = join(src, 'img', '.swap-link');
    const file = join(src, 'img', '.swap-file');
    const swapped = new Uint8Array(IMAGES);
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % IMAGES;
    };
    const done = (async () => {
      while (running) {
        const i = next();
        const target = join(src, 'img', `${i}.jpg`);
        if (swapped[i] === 0) {
          await symlink(join(dir, 'race/outside/secret.png'), link);
          await rename(link, target); // atomic: the name is always there, a file or a symlink out
        } else {
          await writeFile(file, jpeg);
          await rename(file, target);
        }
        swapped[i] = swapped[i] === 0 ? 1 : 0;
        swaps++;
      }
      // Leave every image a regular file again.
      for (let i = 0; i < IMAGES; i++) {
        if (swapped[i] === 0) continue;
        await writeFile(file, jpeg);
        await rename(file, join(src, 'img', `${i}.jpg`));
        swapped[i] = 0;
      }
      return swaps;
    })();
    return {
      stop: async () => {
        running = false;
        return done;
      },
    };
  }

  it('convert --embed-images never embeds the secret; swapped records are rejected with a rule', async () => {
    const out = join(dir, 'race/out.jsonl');
    const rejects = join(dir, 'race/rejects.jsonl');
    const loop = swapLoop();
    const result = await runCli([
      'convert',
      input,
      '--to',
      'openai',
      '-o',
      out,
      '--images',
      src,
      '--embed-images',
      '--missing-images',
      'drop',
      '--rejects',
      rejects,
      '--json',
    ]);
    const swaps = await loop.stop();
    console.info(
      `swap race, convert: ${swaps} swaps; rejected by rule ${JSON.stringify(JSON.parse(result.stdout).rejectedByRule)}`,
    );
    expect(swaps).toBeGreaterThan(100); // the loop ran during the conversion
    const summary = JSON.parse(result.stdout);
    const total = IMAGES * (BETWEEN + 1);
    expect(summary.read).toBe(total);
    expect(summary.written + summary.rejected).toBe(total);
    const text = await readFile(out, 'utf8');
    expect(text).not.toContain(secret.toString('base64'));
    const urls = embedded(text);
    for (const bytes of urls) expect(bytes.equals(Buffer.from(jpeg))).toBe(true);
    expect(urls.length + summary.rejected).toBe(IMAGES);
    // Swapped images were seen (at listing or at reading) and every rejected record says why, with a rule.
    expect(summary.rejected).toBeGreaterThan(0);
    const rules = Object.keys(summary.rejectedByRule);
    expect(rules.length).toBeGreaterThan(0);
    // At resolution (a symlink out when the folder was listed) or when read (swapped after the listing): both are
    // images/outside-root, with the record's place; a swap caught mid-rename would be images/unreadable.
    for (const rule of rules) expect(rule).toMatch(/^images\/(outside-root|unreadable)$/);
    const rejected = (await readFile(rejects, 'utf8')).trim().split('\n');
    expect(rejected).toHaveLength(summary.rejected);
    const rejectsText = await readFile(rejects, 'utf8');
    expect(rejectsText).not.toContain(secret.toString('base64'));
    const diagnostics = rejectsText
      .trim()
      .split('\n')
      .flatMap((l) => JSON.parse(l).diagnostics as { ruleId: string; message: string; place?: unknown }[]);
    for (const d of diagnostics) expect(d.place).toBeDefined();
    const atRead = diagnostics.filter((d) => /was refused when read: .*outside the image sources/.test(d.message));
    console.info(
      `swap race, convert: ${atRead.length} of ${diagnostics.length} refusals made at the moment of reading`,
    );
    // Some swaps land between the listing and the read: those are the refusals made at the moment of reading.
    expect(atRead.length).toBeGreaterThan(0);
  });

  it('images check never sniffs the secret; swapped images are reported with a rule', async () => {
    const loop = swapLoop();
    const result = await runCli(['images', 'check', input, '--images', src, '--json']);
    const swaps = await loop.stop();
    console.info(`swap race, images check: ${swaps} swaps; totals ${JSON.stringify(JSON.parse(result.stdout).total)}`);
    expect(swaps).toBeGreaterThan(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.total.references).toBe(IMAGES);
    expect(summary.total.formatMismatch).toBe(0); // the PNG secret was never read
    expect(summary.byPrefix['img/'].formats.png).toBeUndefined();
    const problems = summary.total.refused + summary.total.unreadable;
    expect(summary.total.ok + problems).toBe(IMAGES);
    for (const d of summary.diagnostics) expect(d.ruleId).toMatch(/^images\/(outside-root|unreadable)$/);
    if (problems > 0) expect(result.code).toBe(1);
    // Every image is a swapped symlink about half the time: a run that overlaps the loop sees some of them.
    expect(problems).toBeGreaterThan(0);
  });
});

/** A raw deflate stream of `copies` × 16 MiB of zeros: one full-flushed block repeated, then an empty final block. */
function zerosDeflated(copies: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(16 << 20), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array<Buffer>(copies).fill(block), Buffer.from([0x03, 0x00])]);
}

/** A zip archive of deflated entries, each with the size it declares (CRC left 0: no reader here checks it first). */
function zipArchive(entries: readonly { name: string; data: Buffer; declared: number }[]): Buffer {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.declared, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, name, e.data);
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

describe('zip bombs: bounded memory, refused past the size limit', () => {
  const GiB = 1024 ** 3;
  /** What the children peaked at, for the closing report. */
  const peaks: Record<string, number> = {};
  let archive: string;
  let input: string;
  let gigInput: string;

  beforeAll(async () => {
    const three = zerosDeflated(192); // 3 GiB of zeros in about 3 MB
    const one = zerosDeflated(64); // 1 GiB
    archive = join(dir, 'bombs.zip');
    await writeFile(
      archive,
      zipArchive([
        { name: 'bomb.jpg', data: three, declared: 3 * GiB }, // honest: declares 3 GiB
        { name: 'liar.jpg', data: three, declared: 1 << 20 }, // declares 1 MiB, inflates to 3 GiB
        { name: 'gig.jpg', data: one, declared: GiB },
      ]),
    );
    input = join(dir, 'bombs.json');
    await writeFile(
      input,
      JSON.stringify([
        { id: 'bomb', image: 'bomb.jpg', conversations: turns('x') },
        { id: 'liar', image: 'liar.jpg', conversations: turns('x') },
      ]),
    );
    gigInput = join(dir, 'gig.json');
    await writeFile(gigInput, JSON.stringify([{ id: 'gig', image: 'gig.jpg', conversations: turns('x') }]));
  });
  afterAll(() => {
    // The measured peaks, for the record (the closing note of issue 11 quotes them).
    console.info(`zip-bomb peak RSS (MiB): ${JSON.stringify(peaks)}`);
  });

  it('images check reports both entries as images/too-large within a few hundred MiB', async () => {
    const result = await runMeasured(dir, ['images', 'check', input, '--images', archive, '--json']);
    peaks['images check'] = Math.round(result.peakMiB);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual([
      'images/too-large',
      'images/too-large',
    ]);
    expect(summary.diagnostics[0].message).toMatch(/declares 3221225472 bytes, over the limit of 67108864/);
    expect(summary.diagnostics[1].message).toMatch(/inflates to more than the 1048576 bytes it declares/);
    expect(summary.total.ok).toBe(0);
    expect(result.peakMiB).toBeLessThan(300);
  });

  it('images check with the limit raised streams a 1 GiB entry through inflate in bounded memory', async () => {
    const result = await runMeasured(dir, [
      'images',
      'check',
      gigInput,
      '--images',
      archive,
      '--max-image-bytes',
      String(2 * GiB),
      '--json',
    ]);
    peaks['images check, 1 GiB inflated'] = Math.round(result.peakMiB);
    const summary = JSON.parse(result.stdout);
    // Inflated whole (head and tail kept): 1 GiB of zeros is no image.
    expect(summary.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual(['images/not-an-image']);
    expect(result.peakMiB).toBeLessThan(300);
  });

  it('convert --embed-images rejects both records (nothing embedded) within a few hundred MiB', async () => {
    const out = join(dir, 'bombs.jsonl');
    const result = await runMeasured(dir, [
      'convert',
      input,
      '--to',
      'openai',
      '-o',
      out,
      '--images',
      archive,
      '--embed-images',
      '--rejects',
      join(dir, 'bombs-rejects.jsonl'),
      '--json',
    ]);
    peaks['convert --embed-images'] = Math.round(result.peakMiB);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 2, written: 0, rejected: 2 });
    expect(summary.rejectedByRule).toEqual({ 'images/too-large': 2 });
    const rejects = await readFile(join(dir, 'bombs-rejects.jsonl'), 'utf8');
    expect(rejects).toContain('over the limit of 67108864');
    expect(rejects).toContain('inflates to more than the 1048576 bytes it declares');
    expect(result.peakMiB).toBeLessThan(300);
  });
});

describe('--image-root and --image-paths prefix= never write a path that leaves the root', () => {
  it('reports "..", absolute and drive paths with images/outside-root and the record place, and leaves them unjoined', async () => {
    const input = join(dir, 'root.json');
    await writeFile(
      input,
      `[\n${[
        { id: 'up', image: '../secret.jpg', conversations: turns('x') },
        { id: 'abs', image: '/etc/shadow.jpg', conversations: turns('x') },
        { id: 'fine', image: 'coco/1.jpg', conversations: turns('x') },
      ]
        .map((r) => JSON.stringify(r))
        .join(',\n')}\n]`,
    );
    for (const flag of [
      ['--image-root', '/data/root'],
      ['--image-paths', 'prefix=/data/root'],
    ]) {
      const out = join(dir, 'root-out.jsonl');
      const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', out, ...flag]);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/root\.json:2:1 record #0 \(id "up"\) \/image .*\[images\/outside-root\]/);
      expect(result.stderr).toMatch(/root\.json:3:1 record #1 \(id "abs"\) \/image .*\[images\/outside-root\]/);
      const records = (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records.map((r: { images: string[] }) => r.images[0])).toEqual([
        '../secret.jpg',
        '/etc/shadow.jpg',
        '/data/root/coco/1.jpg',
      ]);
    }
    // With --images, --missing-images drop rejects them like any refused path.
    await mkdir(join(dir, 'rootsrc/coco'), { recursive: true });
    await writeFile(join(dir, 'rootsrc/coco/1.jpg'), encodeTinyImage('jpeg', { width: 8, height: 8 }));
    const dropped = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-o',
      join(dir, 'root-drop.jsonl'),
      '--images',
      join(dir, 'rootsrc'),
      '--image-root',
      join(dir, 'rootsrc'),
      '--missing-images',
      'drop',
      '--json',
    ]);
    const summary = JSON.parse(dropped.stdout);
    expect(summary).toMatchObject({ read: 3, written: 1, rejected: 2 });
    expect(summary.rejectedByRule).toEqual({ 'images/outside-root': 2 });
  });
});

describe('absurd header dimensions', () => {
  it('images check reports images/bad-dimensions, never ok', async () => {
    const root = join(dir, 'dims');
    await mkdir(root, { recursive: true });
    const png = encodeTinyImage('png', { width: 8, height: 8 });
    const withSize = (w: number, h: number) => {
      const copy = Buffer.from(png);
      copy.writeUInt32BE(w, 16);
      copy.writeUInt32BE(h, 20);
      return copy;
    };
    await writeFile(join(root, 'zero.png'), withSize(0, 0));
    await writeFile(join(root, 'huge.png'), withSize(2 ** 31, 2 ** 31));
    await writeFile(join(root, 'fine.png'), png);
    const input = join(dir, 'dims.json');
    await writeFile(
      input,
      JSON.stringify(
        ['zero.png', 'huge.png', 'fine.png'].map((image) => ({ id: image, image, conversations: turns('x') })),
      ),
    );
    for (const workers of ['1', '0']) {
      const result = await runCli(['images', 'check', input, '--images', root, '--workers', workers, '--json']);
      expect(result.code).toBe(1);
      const summary = JSON.parse(result.stdout);
      expect(summary.total.ok).toBe(1);
      expect(
        summary.diagnostics.map((d: { ruleId: string; recordIndex: number }) => [d.ruleId, d.recordIndex]),
      ).toEqual([
        ['images/bad-dimensions', 0],
        ['images/bad-dimensions', 1],
      ]);
      expect(summary.byPrefix['(bare)'].width).toEqual({ min: 8, max: 8 });
    }
  });
});
