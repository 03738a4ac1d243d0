import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataset, type TestDataset } from './_testing.js';
import { startViewer, type Viewer } from './server.js';

/** A raw HTTP request (the path is sent as given: no URL normalisation on the client side). */
function raw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the viewer server', () => {
  let ds: TestDataset;
  let viewer: Viewer;
  let token: string;
  const auth = () => ({ 'x-llava-token': token });

  beforeAll(async () => {
    ds = await makeDataset(60);
    viewer = await startViewer({ inputs: [ds.json], images: ds.images, pageSize: 10 });
    token = new URL(viewer.url).searchParams.get('token')!;
    await viewer.tokensCounted;
  });
  afterAll(async () => {
    await viewer?.close();
    await ds?.cleanup();
  });

  it('binds 127.0.0.1 on a random port and prints a URL with a long random token', () => {
    expect(viewer.host).toBe('127.0.0.1');
    expect(viewer.port).toBeGreaterThan(0);
    expect(viewer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('refuses every request without the right token (403), page and API alike', async () => {
    for (const path of [
      '/',
      '/app.js',
      '/state.js',
      '/style.css',
      '/api/meta',
      '/api/rows',
      '/api/record?n=0',
      '/api/image?n=0&slot=0',
      '/nope',
    ]) {
      expect((await raw(viewer.port, path)).status, path).toBe(403);
      expect((await raw(viewer.port, `${path}${path.includes('?') ? '&' : '?'}token=wrong`)).status, path).toBe(403);
      expect((await raw(viewer.port, path, { headers: { 'x-llava-token': `${token}x` } })).status, path).toBe(403);
      expect(
        (await raw(viewer.port, path, { headers: { cookie: `llava_view_${viewer.port}=${token.slice(1)}` } })).status,
      ).toBe(403);
    }
  });

  it('trades the token of the first load for a cookie, and keeps the rest of the address', async () => {
    const first = await raw(viewer.port, `/?token=${token}&x=1`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/?x=1');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`llava_view_${viewer.port}=${token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const again = await raw(viewer.port, '/', { headers: { cookie: `other=1; llava_view_${viewer.port}=${token}` } });
    expect(again.status).toBe(200);
    expect(again.body.toString()).toContain('<script type="module" src="/app.js">');
  });

  it('serves the page as ES modules of its own: every module app.js imports, as JavaScript', async () => {
    const seen = new Set<string>();
    const todo = ['/app.js'];
    while (todo.length > 0) {
      const path = todo.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const r = await raw(viewer.port, path, { headers: auth() });
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe('text/javascript; charset=utf-8');
      for (const [, name] of r.body.toString().matchAll(/from '\.\/([a-z-]+\.js)'/g)) todo.push(`/${name}`);
    }
    expect([...seen].sort()).toEqual(
      [
        '/app.js',
        '/dom.js',
        '/json-view.js',
        '/record.js',
        '/sidebar.js',
        '/state.js',
        '/stats.js',
        '/table.js',
      ].sort(),
    );
  });

  it('sets strict headers on every response', async () => {
    for (const path of ['/', '/api/meta', '/api/image?n=0&slot=0', '/missing']) {
      const r = await raw(viewer.port, path, { headers: auth() });
      expect(r.headers['content-security-policy'], path).toContain("default-src 'self'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
    const refused = await raw(viewer.port, '/');
    expect(refused.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('answers only to its own host name (no DNS rebinding) and only reads', async () => {
    expect((await raw(viewer.port, '/api/meta', { headers: { ...auth(), host: 'evil.example:80' } })).status).toBe(403);
    expect(
      (await raw(viewer.port, '/api/meta', { headers: { ...auth(), host: `localhost:${viewer.port}` } })).status,
    ).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect((await raw(viewer.port, '/api/meta', { method, headers: auth() })).status, method).toBe(405);
    }
  });

  it('serves no path of the disk: traversal paths and raw image paths get 404, links out of a source 403', async () => {
    const paths = [
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/api/../../etc/passwd',
      '/app.js/../../../etc/passwd',
      '//etc/passwd',
      `/${ds.json}`,
      '/api/image?path=/etc/passwd',
      '/api/image?n=0&slot=../../etc/passwd',
      '/api/image?n=0&slot=-1',
      '/api/image?n=0&slot=1',
      '/api/image?n=99999&slot=0',
      '/api/record?n=../0',
      '/api/record?n=1e3',
    ];
    for (const path of paths) {
      const r = await raw(viewer.port, path, { headers: auth() });
      expect(r.status, path).toBe(404);
      expect(r.body.toString()).not.toContain('root:');
    }
    // a symlink inside the folder that points out of it: refused by the resolver
    const linked = await raw(viewer.port, `/api/image?n=${ds.known.symlinkOut}&slot=0`, { headers: auth() });
    expect(linked.status).toBe(403);
  });

  it('serves images by record and slot, with the sniffed type, from folders and zips', async () => {
    const jpeg = await raw(viewer.port, '/api/image?n=0&slot=0', { headers: auth() });
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers['content-type']).toBe('image/jpeg');
    expect([...jpeg.body.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const zipped = await raw(viewer.port, `/api/image?n=${ds.known.zipImage}&slot=0`, { headers: auth() });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-type']).toBe('image/webp');
    const missing = await raw(viewer.port, `/api/image?n=${ds.known.missingImage}&slot=0`, { headers: auth() });
    expect(missing.status).toBe(404);
    const broken = await raw(viewer.port, `/api/image?n=${ds.known.brokenImage}&slot=0`, { headers: auth() });
    expect(broken.status).toBe(415);
    expect(broken.body.toString()).not.toContain('404: Not Found'); // the file's bytes are not sent
  });

  it('pages, filters, opens records with their diagnostics, searches and counts', async () => {
    const get = async (path: string) => JSON.parse((await raw(viewer.port, path, { headers: auth() })).body.toString());
    const page2 = await get('/api/rows?page=2');
    expect(page2.total).toBe(60);
    expect(page2.pages).toBe(6);
    expect(page2.rows.map((r: { index: number }) => r.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const missing = await get('/api/rows?missing=1');
    expect(missing.rows.map((r: { index: number }) => r.index)).toEqual([ds.known.missingImage, ds.known.symlinkOut]);
    const dup = await get(`/api/record?n=${ds.known.duplicateId}&rule=id%2Fduplicate`);
    expect(dup.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual(['id/duplicate']);
    expect(dup.position).toBe(0);
    expect(dup.total).toBe(1);
    const broken = await get(`/api/record?n=${ds.known.brokenJson}`);
    expect(broken.value).toBeNull();
    expect(broken.diagnostics[0].ruleId).toBe('json/syntax');
    expect(broken.text).toBe('{"id": "broken", "conversations": [],}');
    const found = await get('/api/search?q=ZEBRA%20crossing');
    expect(found.rows.map((r: { index: number }) => r.index)).toEqual([ds.known.escapes]);
    expect(found.done).toBe(true);
    const stats = await get('/api/stats?source=gqa');
    expect(stats.bySource).toEqual([{ source: 'gqa', records: stats.records, images: stats.records }]);
    expect(stats.tokensCounted).toBe(stats.records);
  });

  it('stops a search at its limit and says where to go on', async () => {
    const get = async (path: string) => JSON.parse((await raw(viewer.port, path, { headers: auth() })).body.toString());
    const first = await get('/api/search?q=picture&limit=3');
    expect(first.matches).toHaveLength(3);
    expect(first.done).toBe(false);
    const next = await get(`/api/search?q=picture&limit=3&from=${first.next}`);
    expect(next.matches[0]).toBeGreaterThan(first.matches[2]);
  });

  it('closes cleanly: the port stops answering', async () => {
    const other = await startViewer({ inputs: [ds.jsonl], countTokens: false });
    const port = other.port;
    expect((await raw(port, '/')).status).toBe(403);
    await other.close();
    await expect(raw(port, '/')).rejects.toThrow();
  });

  it('indexes what it can of a file that stops being readable, and says why', async () => {
    const cut = join(ds.dir, 'cut.json');
    await writeFile(cut, '[{"id": 1, "conversations": []},\n {"id": 2, "conv');
    const other = await startViewer({ inputs: [cut, ds.jsonl], countTokens: false });
    try {
      expect(other.index.files.map((f) => f.records)).toEqual([1, 10]);
      expect(other.index.fileDiagnostics.map((d) => d.ruleId)).toContain('json/truncated');
    } finally {
      await other.close();
    }
  });
});
