import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DiagnosticError } from '@llavakit/diagnostics';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStatsSummary, writeStatsHtml } from './report.js';
import { computeStats, mergeStats } from './stats.js';
import { rec, registry, tempDir, writeJson } from './test-helpers.js';
import { LlamaTokenCounter } from './tokens.js';

const RECORDS = [
  rec('1', 'What is it?', 'coco/train2017/1.jpg'),
  rec('2', 'Where is it?', 'gqa/images/2.jpg'),
  rec('2', 'What is it?', 'coco/train2017/3.jpg'), // duplicate id and conversation
  rec(4, 'Tell me a story.'),
  {
    id: '5',
    image: 'ocr_vqa/images/5.jpg',
    data_source: 'my-ocr',
    conversations: [
      { from: 'human', value: 'Read it <image>' },
      { from: 'gpt', value: 'OK' },
      { from: 'human', value: 'More?' },
      { from: 'gpt', value: 'No' },
    ],
  },
];

describe('computeStats', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    input = await writeJson(join(dir, 'data.json'), RECORDS);
  });
  afterAll(() => cleanup());

  it('counts sources, text-only, turns, placement, duplicates and tokens', async () => {
    const s = await computeStats({ inputs: [input], registry });
    expect(s.records).toBe(5);
    expect(s.textOnly).toBe(1);
    expect(s.textOnlyShare).toBe(0.2);
    expect(s.sources).toEqual({
      coco: { records: 2, textOnly: 0, images: 2 },
      gqa: { records: 1, textOnly: 0, images: 1 },
      'text-only': { records: 1, textOnly: 1, images: 0 },
      'my-ocr': { records: 1, textOnly: 0, images: 1 },
    });
    expect(s.turns.counts).toEqual({ 2: 4, 4: 1 });
    expect(s.imagesPerRecord).toEqual({ 0: 1, 1: 4 });
    expect(s.imagePlacement).toMatchObject({ start: 3, end: 1, middle: 0, none: 0, mismatch: 0 });
    expect(s.duplicates).toEqual({ ids: 1, conversations: 1, scope: 'all' });
    const counter = await LlamaTokenCounter.create();
    // record 4 (text-only): BOS + its two turns.
    const textOnly = 1 + counter.count('Tell me a story.') + counter.count('Yes.');
    expect(s.tokens?.total.min).toBe(textOnly);
    expect(s.tokens?.max).toBeGreaterThan(576);
    const text = renderStatsSummary(s, 'report.html');
    expect(text.split('\n')[0]).toBe('5 records, 1 text-only (20.0%), 4 images');
    expect(text).toContain('\n  duplicates: 1 ids, 1 conversations\n');
    expect(text.endsWith('\n  report: report.html')).toBe(true);
    expect(s.tokens?.total.count).toBe(5);
    expect(s.tokens?.p50).not.toBeNull();
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(['records', 'textOnly', 'sources', 'turns', 'tokens', 'duplicates']),
    );
  });

  it('adds the template overhead and image tokens by preset', async () => {
    const plain = await computeStats({ inputs: [input], registry, model: 'llava-1.5-224' });
    const v1 = await computeStats({ inputs: [input], registry, model: 'llava-1.5-224', template: 'v1' });
    expect(plain.tokens!.image.counts).toEqual({ 0: 1, 256: 4 });
    expect(v1.tokens!.overhead.min).toBeGreaterThan(30);
    expect(v1.tokens!.total.sum).toBe(plain.tokens!.total.sum + v1.tokens!.overhead.sum);
  });

  it('counts invalid elements apart, and merges shards exactly', async () => {
    const a = await writeJson(join(dir, 'a.json'), RECORDS.slice(0, 2));
    const b = join(dir, 'b.jsonl');
    await writeFile(
      b,
      `${RECORDS.slice(2)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n{"conversations": 3}\n`,
    );
    const sa = await computeStats({ inputs: [a], registry });
    const sb = await computeStats({ inputs: [b], registry });
    expect(sb.invalid).toBe(1);
    expect(Object.keys(sb.invalidByRule)).toHaveLength(1);
    const whole = await computeStats({ inputs: [a, b], registry });
    const merged = mergeStats([JSON.parse(JSON.stringify(sa)), JSON.parse(JSON.stringify(sb))]);
    expect(merged.records).toBe(whole.records);
    expect(merged.sources).toEqual(whole.sources);
    expect(merged.turns).toEqual(whole.turns);
    expect(merged.tokens!.total).toEqual(whole.tokens!.total);
    expect(merged.duplicates.scope).toBe('per-shard');
    expect(() => mergeStats([sa, { ...sb, tokens: null }])).toThrow(DiagnosticError);
  });

  it('reads image sizes from the headers for the AnyRes presets (never outside the sources)', async () => {
    const images = join(dir, 'images');
    await mkdir(join(images, 'coco'), { recursive: true });
    await writeFile(join(images, 'coco', 'square.png'), encodeTinyImage('png', { width: 672, height: 672 }));
    await writeFile(join(images, 'coco', 'wide.jpg'), encodeTinyImage('jpeg', { width: 1000, height: 300 }));
    await writeFile(join(dir, 'outside.png'), encodeTinyImage('png', { width: 336, height: 336 }));
    const data = await writeJson(join(dir, 'anyres.json'), [
      rec('a', 'Q', 'coco/square.png'),
      rec('b', 'Q', 'coco/wide.jpg'),
      rec('c', 'Q', 'coco/missing.png'),
      rec('d', 'Q', '../outside.png'),
      rec('e', 'Q'),
    ]);
    const s = await computeStats({ inputs: [data], registry, model: 'llava-next-anyres', images: [images] });
    expect(s.tokens!.image.counts).toEqual({ 0: 1, 2304: 1, 2880: 1 });
    expect(s.tokens!.unmeasurable).toBe(2);
    const unpad = await computeStats({ inputs: [data], registry, model: 'llava-next-anyres-unpad', images: [images] });
    expect(unpad.tokens!.image.counts).toMatchObject({ 2928: 1 });
  });

  it('needs --images for the AnyRes presets', async () => {
    await expect(computeStats({ inputs: [input], registry, model: 'llava-next-anyres' })).rejects.toThrow(/--images/);
  });
});

const CHROMIUM = '/usr/bin/chromium';

describe('the HTML report in a real headless Chromium', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it.skipIf(!existsSync(CHROMIUM))(
    'renders its charts offline, without console errors',
    async () => {
      const input = await writeJson(join(dir, 'data.json'), RECORDS);
      const stats = await computeStats({ inputs: [input], registry, template: 'v1' });
      const html = join(dir, 'report.html');
      await writeStatsHtml(html, stats);
      const text = await readFile(html, 'utf8');
      expect(text).not.toMatch(/<script|https?:\/\/|<link/);
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const context = await browser.newContext({ offline: true });
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
        await page.goto(pathToFileURL(html).href);
        const charts = await page.$$eval('figure svg', (svgs) =>
          svgs.map((svg) => ({
            label: svg.getAttribute('aria-label'),
            bars: [...svg.querySelectorAll('rect.bar')].filter((r) => r.getBoundingClientRect().height > 0).length,
            width: svg.getBoundingClientRect().width,
          })),
        );
        expect(errors).toEqual([]);
        expect(charts).toHaveLength(3);
        for (const chart of charts) {
          expect(chart.width).toBeGreaterThan(100);
          expect(chart.bars).toBeGreaterThan(0);
        }
        expect(charts[2]!.bars).toBe(4); // one bar per source
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
