import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataset, type TestDataset, writeParquetHub } from './_testing.js';
import { startViewer, type Viewer } from './server.js';

// Debian's chromium package (CI installs it with apt when missing: see the "view: chromium" block of .ci/run).
const CHROMIUM = process.env.LLAVA_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Screenshots of the main views, for people (gitignored). */
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));

if (!HAVE_CHROMIUM) console.warn(`view browser tests skipped: no chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)(`the viewer page in a real browser (${CHROMIUM})`, () => {
  let ds: TestDataset;
  let viewer: Viewer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every URL the browser asked for (the page must work offline: nothing but the viewer itself). */
  const requested: string[] = [];

  /** Wait until the page has rendered the current place (the app marks it on <body>). */
  const settled = async (p: Page = page) => {
    await p.waitForFunction(() => document.body.dataset.ready !== undefined && !document.body.dataset.busy);
    await p.waitForLoadState('networkidle');
  };
  /** Do something that changes the place, and wait until the page has rendered the new one. */
  const act = async (action: () => Promise<unknown>, p: Page = page) => {
    await p.evaluate(() => {
      delete document.body.dataset.ready;
    });
    await action();
    await settled(p);
  };
  const go = async (hash: string, p: Page = page) => {
    if ((await p.evaluate(() => location.hash.replace(/^#/, ''))) === hash) return; // no change, no render
    await act(() => p.evaluate((h) => (location.hash = h), hash), p);
  };
  const rowIndexes = (p: Page = page) =>
    p.$$eval('#rows tr[data-n]', (rows) => rows.map((r) => Number(r.querySelector('td')!.textContent)));

  beforeAll(async () => {
    ds = await makeDataset(120);
    viewer = await startViewer({ inputs: [ds.json], images: ds.images, pageSize: 20 });
    await viewer.tokensCounted;
    await mkdir(ARTIFACTS, { recursive: true });
    // playwright gives the browser a fresh, temporary profile (user-data-dir) of its own
    browser = await chromium.launch({
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
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.on('request', (r) => requested.push(r.url()));
    page = await context.newPage();
    page.on('pageerror', (error) => {
      throw error;
    });
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    await ds?.cleanup();
  });

  it('opens with the token, drops it from the address bar, and pages through the table', async () => {
    const response = await page.goto(viewer.url);
    expect(response?.status()).toBe(200);
    await settled();
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    expect(await rowIndexes()).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await expect.poll(() => page.textContent('#count')).toContain('120 of 120 records');
    await page.screenshot({ path: join(ARTIFACTS, 'table.png') });

    await act(() => page.click('#pager .next-page'));
    expect(await rowIndexes()).toEqual(Array.from({ length: 20 }, (_, i) => 20 + i));
    expect(page.url()).toContain('page=2');
    await act(() => page.click('#pager .last'));
    expect(await rowIndexes()).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    // diagnostics badges in the table: record 11 breaks alternation, 13 repeats record 0's id
    await go('page=1');
    const badges = await page.$$eval('#rows tr[data-n="11"] .badge', (b) => b.map((x) => x.textContent));
    expect(badges).toContain('roles/alternation');
  });

  it('opens a record: chat with highlighted <image>, the image decoded, diagnostics, template rendering', async () => {
    await go('page=1');
    await act(() => page.click('#rows tr[data-n="0"]'));
    expect(await page.isVisible('#record')).toBe(true);
    const img = page.locator('#record figure.image img');
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(320);
    expect(await page.textContent('#record figcaption')).toContain('JPEG · 320×240');
    expect(await page.locator('#record .chat .media-token').first().textContent()).toBe('<image>');
    expect(await page.locator('#record .chat .turn').count()).toBe(4);
    expect(await page.textContent('#record pre.rendered')).toContain('USER: <image>\nWhat is the cat');
    // choose another template: the rendering follows and the URL keeps it
    await act(() => page.selectOption('#record select.template', 'llava_llama_2'));
    expect(page.url()).toContain('tpl=llava_llama_2');
    expect(await page.textContent('#record pre.rendered')).toContain('[INST] <<SYS>>');
    // where LLaVA would raise, the record view says why (the plain template needs exactly two turns)
    await act(() => page.selectOption('#record select.template', 'plain'));
    expect(await page.locator('#record pre.rendered').count()).toBe(0);
    expect(await page.textContent('#record')).toContain('exactly 2 turns');
    await act(() => page.selectOption('#record select.template', 'v1'));
    await page.screenshot({ path: join(ARTIFACTS, 'record.png') });
  });

  it('shows images from the zip archive, and a placeholder with the diagnostic for missing and broken ones', async () => {
    await go('r=3');
    const zipped = page.locator('#record figure.image img');
    await expect.poll(() => zipped.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
    expect(await page.textContent('#record figcaption')).toContain('WEBP');
    expect(await page.textContent('#record figcaption')).toContain('in zip');

    await go(`r=${ds.known.missingImage}`);
    expect(await page.locator('#record figure.image .placeholder').textContent()).toContain('missing');
    expect(await page.locator('#record .diags').textContent()).toContain('images/missing');
    // the pointer of the diagnostic is highlighted in the JSON
    expect(await page.locator('#record pre.json .hl[data-pointer="/image"]').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'record-missing.png') });

    await go(`r=${ds.known.brokenImage}`);
    expect(await page.locator('#record figure.image .placeholder').textContent()).toContain('not a readable image');
    expect(await page.locator('#record .diags').textContent()).toContain('images/not-an-image');

    // a record whose JSON is broken: its raw text, with the place of the error marked
    await go(`r=${ds.known.brokenJson}`);
    expect(await page.locator('#record pre.json .syntax').textContent()).toBe('}');
    expect(await page.locator('#record .diags').textContent()).toContain('json/syntax');

    await go(`r=${ds.known.symlinkOut}`);
    expect(await page.locator('#record .diags').textContent()).toContain('images/outside-root');
    expect(await page.locator('#record figure.image img').count()).toBe(0);
  });

  it('filters by rule and by source, and searches the text', async () => {
    await go('');
    await act(() => page.selectOption('#f-rule', 'roles/alternation'));
    expect(await rowIndexes()).toEqual([ds.known.alternation]);
    expect(page.url()).toContain('rule=roles%2Falternation');

    await go('');
    await act(() => page.selectOption('#f-source', 'gqa'));
    const gqa = await page.$$eval('#rows td .source', (s) => [...new Set(s.map((x) => x.textContent))]);
    expect(gqa).toEqual(['gqa']);

    await go('');
    await page.fill('#q', 'zebra');
    await act(() => page.press('#q', 'Enter'));
    expect(await rowIndexes()).toEqual([ds.known.escapes]);
    // a JSON-escaped phrase: the quotes are \" in the file
    await page.fill('#q', 'sign: "ZEBRA');
    await act(() => page.press('#q', 'Enter'));
    expect(await rowIndexes()).toEqual([ds.known.escapes]);
  });

  it('shows the stats panel', async () => {
    await go('tab=stats');
    const sources = await page.$$eval('#stats .bar-label', (l) => l.map((x) => x.textContent));
    expect(sources).toEqual(expect.arrayContaining(['coco', 'gqa', 'sharegpt']));
    expect(await page.textContent('#stats .cards')).toContain('120');
    await page.screenshot({ path: join(ARTIFACTS, 'stats.png') });
  });

  it('follows a shared URL: the place (filter, page, record) comes back, in a fresh browser with the token too', async () => {
    const shared = `http://127.0.0.1:${viewer.port}/#source=coco&page=2&r=40`;
    const second = await context.newPage();
    await second.goto(shared);
    await settled(second);
    const indexes = await rowIndexes(second);
    expect(indexes).toHaveLength(20);
    expect(await second.$$eval('#rows td .source', (s) => [...new Set(s.map((x) => x.textContent))])).toEqual(['coco']);
    expect(await second.textContent('#record h2')).toBe('Record 40');
    await second.close();

    // someone without the cookie needs the token: with it the place survives the redirect, without it 403
    const fresh = await browser.newContext();
    const third = await fresh.newPage();
    const refused = await third.goto(shared);
    expect(refused?.status()).toBe(403);
    await third.goto(`${viewer.url}#source=coco&page=2&r=40`);
    await settled(third);
    expect(await third.textContent('#record h2')).toBe('Record 40');
    expect(await rowIndexes(third)).toEqual(indexes);
    await fresh.close();
  });

  it('pages through a Parquet dataset and shows its records with their embedded images decoded', async () => {
    const hub = join(ds.dir, 'hub');
    await writeParquetHub(hub);
    const other = await startViewer({ inputs: [hub], countTokens: false, pageSize: 3 });
    const own = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const asked: string[] = [];
    own.on('request', (r) => asked.push(r.url()));
    const tab = await own.newPage();
    try {
      expect((await tab.goto(other.url))?.status()).toBe(200);
      await settled(tab);
      expect(await rowIndexes(tab)).toEqual([0, 1, 2]);
      await act(() => tab.click('#pager .next-page'), tab);
      expect(await rowIndexes(tab)).toEqual([3, 4, 5]);
      // a record whose id repeats an earlier one: the duplicate is replayed from the index, with its message
      await act(() => tab.click('#rows tr[data-n="5"]'), tab);
      expect(await tab.textContent('#record h2')).toBe('Record 5');
      expect(await tab.textContent('#record .diags')).toContain('id/duplicate');
      expect(await tab.textContent('#record .diags')).toContain('repeats record #0');
      await go('page=1&r=0', tab);
      const jpeg = tab.locator('#record figure.image img');
      await jpeg.waitFor();
      await expect.poll(() => jpeg.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
      expect(await tab.textContent('#record figcaption')).toContain('JPEG');
      await go('page=1&r=1', tab);
      const img = tab.locator('#record figure.image img');
      await img.waitFor();
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(4);
      expect(await tab.textContent('#record figcaption')).toContain('PNG · 4×4');
      expect(await tab.textContent('#record figcaption')).toContain('embedded');
      expect(await tab.textContent('#record')).toContain('row group 0, row 1');
      expect(asked.filter((u) => !u.startsWith(`http://127.0.0.1:${other.port}/`))).toEqual([]);
    } finally {
      await own.close();
      await other.close();
    }
  });

  it('asks nothing of any other server (no CDN: works offline)', () => {
    expect(requested.length).toBeGreaterThan(20);
    const origin = `http://127.0.0.1:${viewer.port}/`;
    expect(requested.filter((u) => !u.startsWith(origin))).toEqual([]);
  });

  it('keeps the README screenshot: a record with an image from the zip and a diagnostic, over the table', async () => {
    await page.setViewportSize({ width: 1440, height: 960 });
    await go(`r=${ds.known.alternation}`);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect(await page.locator('#record .chat .turn.flag-error').count()).toBe(1);
    await expect
      .poll(() => page.locator('#record figure.image img').evaluate((el: HTMLImageElement) => el.naturalWidth > 0))
      .toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'readme.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'readme-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
