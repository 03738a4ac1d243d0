import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, generateRecords, KIND_NAMES, KINDS, type KindName, mixPlan } from './generate.js';
import { type GenRecord, instructRecord, MIX_SOURCES } from './records.js';
import { Rng } from './rng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-datagen-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function gen(
  kind: KindName,
  records: number,
  extra: Parameters<typeof generate>[1] extends infer O ? Partial<O> : never = {},
) {
  const out = join(dir, `${kind}-${records}-${Math.random().toString(36).slice(2)}.${KINDS[kind].container}`);
  const result = await generate(kind, { out, records, seed: 7, ...extra });
  const text = await readFile(out, 'utf8');
  const data: GenRecord[] =
    KINDS[kind].container === 'jsonl'
      ? text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l))
      : JSON.parse(text);
  return { result, text, data };
}

const firstHuman = (r: GenRecord) => r.conversations[0]!.value;
const countTokens = (r: GenRecord) => r.conversations.reduce((n, t) => n + t.value.split('<image>').length - 1, 0);

describe('every kind', () => {
  it.each(KIND_NAMES)('%s writes N parseable records with conversations or metadata', async (kind) => {
    const { data, result, text } = await gen(kind, 120);
    expect(data).toHaveLength(120);
    expect(result.records).toBe(120);
    expect(result.bytes).toBe(Buffer.byteLength(text));
    for (const rec of data) {
      if (kind.endsWith('-meta')) expect(typeof (rec as unknown as { image: string }).image).toBe('string');
      else {
        expect(rec.conversations.length % 2).toBe(0);
        for (const [i, t] of rec.conversations.entries()) expect(t.from).toBe(i % 2 ? 'gpt' : 'human');
      }
    }
  });

  it('writes an empty array for zero records', async () => {
    const { data } = await gen('detail23k', 0);
    expect(data).toEqual([]);
  });
});

describe('instruct150k', () => {
  let data: GenRecord[];
  let text: string;
  beforeAll(async () => {
    ({ data, text } = await gen('instruct150k', 2000));
  });

  it('uses 12-digit string ids and bare image names', () => {
    for (const r of data) {
      expect(r.id).toMatch(/^\d{12}$/);
      expect(r.image).toBe(`${r.id}.jpg`);
    }
  });

  it('puts exactly one <image> at the start or the end of the first human turn, both placements occurring', () => {
    let start = 0;
    let end = 0;
    for (const r of data) {
      expect(countTokens(r)).toBe(1);
      const v = firstHuman(r);
      if (v.startsWith('<image>\n')) start++;
      else if (v.endsWith('\n<image>')) end++;
      else throw new Error(`token misplaced: ${v}`);
    }
    expect(start).toBeGreaterThan(500);
    expect(end).toBeGreaterThan(500);
  });

  it('mixes conversation (1–6 rounds), detail (\\n\\n paragraphs) and reasoning records', () => {
    const rounds = new Set(data.map((r) => r.conversations.length / 2));
    expect([...rounds].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(data.some((r) => r.conversations[1]!.value.includes('\n\n'))).toBe(true);
  });

  it('contains non-ASCII text, escaped quotes and backslashes', () => {
    expect(text).toMatch(/[é—“”]/u);
    expect(text).toMatch(/\p{Extended_Pictographic}/u);
    expect(text).toContain('\\"');
    expect(text).toContain('\\\\');
  });

  it('is pretty-printed like Python json.dump(indent=2) by default', () => {
    expect(text.startsWith('[\n  {\n    "id": "')).toBe(true);
    expect(text.endsWith('\n  }\n]')).toBe(true);
  });

  it('has a realistic size per record (real file: 228,941,895 bytes / 157,712 records)', () => {
    const perRecord = Buffer.byteLength(text) / data.length;
    const real = KINDS.instruct150k.realBytes! / KINDS.instruct150k.records;
    expect(Math.abs(perRecord / real - 1)).toBeLessThan(0.08);
  });
});

describe('mix665k', () => {
  const N = 4000;
  let data: GenRecord[];
  let text: string;
  beforeAll(async () => {
    ({ data, text } = await gen('mix665k', N));
  });

  it('scales the composition per source', () => {
    const plan = mixPlan(N, 7);
    const full = MIX_SOURCES.reduce((a, s) => a + s.count, 0);
    for (const [i, s] of plan.sections.entries()) {
      expect(Math.abs(s.end - s.start - (MIX_SOURCES[i]!.count * N) / full)).toBeLessThan(1.5);
    }
    const prefixes = [
      'coco/train2017/',
      'gqa/images/',
      'ocr_vqa/images/',
      'textvqa/train_images/',
      'vg/VG_100K/',
      'vg/VG_100K_2/',
    ];
    for (const p of prefixes) expect(data.some((r) => typeof r.image === 'string' && r.image.startsWith(p))).toBe(true);
    const coco = data.filter((r) => typeof r.image === 'string' && r.image.startsWith('coco/')).length;
    expect(Math.abs(coco / N - 364100 / 665298)).toBeLessThan(0.01);
  });

  it('gives GQA records integer ids and OCR-VQA records ISBN-like ids', () => {
    const gqa = data.filter((r) => typeof r.image === 'string' && r.image.startsWith('gqa/'));
    expect(gqa.length).toBeGreaterThan(0);
    for (const r of gqa) {
      expect(Number.isInteger(r.id)).toBe(true);
      expect(r.image).toBe(`gqa/images/${r.id}.jpg`);
    }
    expect(data.filter((r) => Number.isInteger(r.id))).toHaveLength(gqa.length);
    const ocr = data.filter((r) => typeof r.image === 'string' && r.image.startsWith('ocr_vqa/'));
    for (const r of ocr) expect(r.id).toMatch(/^\d{9}[\dX]$/);
    expect(ocr.some((r) => String(r.id).endsWith('X'))).toBe(true);
  });

  it('has text-only ShareGPT records without image, with model "" (all but one), near the tail', () => {
    const textOnly = data.map((r, i) => [r, i] as const).filter(([r]) => !('image' in r));
    expect(textOnly.length).toBe(
      mixPlan(N, 7).sections.find((s) => s.source === 'sharegpt')!.end -
        mixPlan(N, 7).sections.find((s) => s.source === 'sharegpt')!.start,
    );
    for (const [r, i] of textOnly) {
      expect(i).toBeGreaterThan(N * 0.8);
      expect(r.id).toMatch(/^[A-Za-z0-9]{7}_\d+$/);
      expect(countTokens(r)).toBe(0);
    }
    expect(textOnly.filter(([r]) => !('model' in r))).toHaveLength(1);
    expect(textOnly.filter(([r]) => r.model === '')).toHaveLength(textOnly.length - 1);
  });

  it('puts <image>\\n first in every image record and keeps VQA suffixes', () => {
    for (const r of data) if ('image' in r) expect(firstHuman(r).startsWith('<image>\n')).toBe(true);
    expect(text).toContain('\\nAnswer the question using a single word or phrase.');
    expect(text).toContain("\\nAnswer with the option's letter from the given choices directly.");
  });

  it('has untrimmed whitespace and one gpt turn with text/markdown keys', () => {
    expect(data.some((r) => r.conversations.some((t) => t.value !== t.value.trim()))).toBe(true);
    const extra = data.flatMap((r) => r.conversations.filter((t) => 'markdown' in t));
    expect(extra).toHaveLength(1);
    expect(extra[0]!.from).toBe('gpt');
    expect(extra[0]!.text).toBe(extra[0]!.value);
  });

  it('has a realistic size per record (real: 1,029,887,963 bytes / 665,298)', () => {
    const perRecord = Buffer.byteLength(text) / N;
    expect(Math.abs(perRecord / (1029887963 / 665298) - 1)).toBeLessThan(0.1);
  });
});

describe('pretraining files', () => {
  it('cc3m chat and meta share ids and images; ~10% meta records lack blip_caption', async () => {
    const chat = (await gen('cc3m-chat', 1500)).data;
    const meta = (await gen('cc3m-meta', 1500)).data as unknown as Record<string, string>[];
    expect(meta.map((m) => m.image)).toEqual(chat.map((c) => c.image));
    for (const [i, c] of chat.entries()) {
      expect(c.id).toMatch(/^GCC_train_\d{9}$/);
      expect(c.image).toBe(`${c.id}.jpg`);
      expect(meta[i]!.caption).toBe(c.conversations[1]!.value);
      expect(Object.keys(meta[i]!).slice(0, 4)).toEqual(['id', 'image', 'caption', 'url']);
    }
    expect(new Set(chat.map((c) => c.id)).size).toBe(chat.length);
    const missing = meta.filter((m) => !('blip_caption' in m)).length / meta.length;
    expect(missing).toBeGreaterThan(0.06);
    expect(missing).toBeLessThan(0.14);
    expect(chat.every((c) => / [.!]$/.test(c.conversations[1]!.value))).toBe(true);
    expect(chat.every((c) => c.conversations[1]!.value === c.conversations[1]!.value.toLowerCase())).toBe(true);
  });

  it('blip558k chat and meta share 9-digit ids with 5-digit shard folders', async () => {
    const chat = (await gen('blip558k-chat', 800)).data;
    const meta = (await gen('blip558k-meta', 800)).data as unknown as Record<string, string>[];
    for (const [i, c] of chat.entries()) {
      expect(c.id).toMatch(/^\d{9}$/);
      expect(c.image).toBe(`${String(c.id).slice(0, 5)}/${c.id}.jpg`);
      expect(meta[i]).toMatchObject({ id: c.id, image: c.image, blip_caption: c.conversations[1]!.value });
      expect(Object.keys(meta[i]!)).toEqual(['id', 'image', 'blip_caption', 'url']);
    }
    expect(new Set(chat.map((c) => c.id)).size).toBe(chat.length);
    expect(chat.some((c) => firstHuman(c).startsWith('<image>\n'))).toBe(true);
    expect(chat.some((c) => firstHuman(c).endsWith('\n<image>'))).toBe(true);
  });
});

describe('llava-next', () => {
  it('writes JSONL with image lists (one token per image), videos, data_source and missing ids', async () => {
    const { data, text } = await gen('llava-next', 600);
    expect(text.split('\n')).toHaveLength(601);
    expect(data.every((r) => typeof r.data_source === 'string')).toBe(true);
    const multi = data.filter((r) => Array.isArray(r.image));
    expect(multi.length).toBeGreaterThan(0);
    for (const r of multi) expect(countTokens(r)).toBe((r.image as string[]).length);
    expect(data.some((r) => typeof r.video === 'string' && r.video.endsWith('.mp4'))).toBe(true);
    expect(data.some((r) => !('id' in r))).toBe(true);
    expect(data.some((r) => Number.isInteger(r.id))).toBe(true);
    expect(data.some((r) => !('image' in r) && !('video' in r))).toBe(true);
  });
});

describe('determinism and layouts', () => {
  it('gives identical bytes for equal seeds and different bytes for different seeds', async () => {
    const a = await gen('mix665k', 300);
    const b = await gen('mix665k', 300);
    const c = await gen('mix665k', 300, { seed: 8 });
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
  });

  it('matches the in-memory records for every layout, and --ascii output is pure ASCII', async () => {
    const expected = generateRecords('instruct150k', 200, 7);
    for (const layout of ['pretty', 'lines', 'compact'] as const) {
      const { data, text } = await gen('instruct150k', 200, { layout });
      expect(data).toEqual(expected);
      if (layout === 'lines') expect(text.split('\n')).toHaveLength(200 + 3);
      if (layout === 'compact') expect(text).not.toContain('\n  ');
    }
    const ascii = await gen('instruct150k', 200, { ascii: true });
    expect(ascii.data).toEqual(expected);
    expect(/^[\x00-\x7f]*$/.test(ascii.text)).toBe(true);
    expect(ascii.text).toMatch(/\\u[0-9a-f]{4}/);
  });

  it('record factories are usable in-process', () => {
    const r = instructRecord(new Rng(3), 0);
    expect(r.id).toMatch(/^\d{12}$/);
    expect(instructRecord(new Rng(3), 0)).toEqual(r);
    expect(instructRecord(new Rng(3), 0, { imagePrefix: 'coco/train2017/', placement: 'start' }).image).toMatch(
      /^coco\/train2017\/\d{12}\.jpg$/,
    );
  });
});
