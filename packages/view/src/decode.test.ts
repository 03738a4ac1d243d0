import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTinyImage } from '@llavakit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDecoder } from './dataset.js';
import { startViewer, type Viewer } from './server.js';

/** A toy record-level format (as a plugin would decode it): {q, a, pic} → a LLaVA record. */
const decodeQa: RecordDecoder = (value) => {
  const v = value as { key?: string; q?: unknown; a?: unknown; pic?: string; boom?: boolean; junk?: boolean };
  if (v.boom) throw new Error('kaboom');
  if (v.junk) return 42 as never;
  if (typeof v.q !== 'string' || typeof v.a !== 'string') {
    return {
      ok: false,
      diagnostics: [{ ruleId: 'qa/shape', severity: 'error', message: 'q and a must be text', source: 'qa' }],
    };
  }
  return {
    ok: true,
    record: {
      id: v.key,
      ...(v.pic ? { image: v.pic } : {}),
      conversations: [
        { from: 'human', value: v.pic ? `<image>\n${v.q}` : v.q },
        { from: 'gpt', value: v.a },
      ],
    },
  };
};

describe('the viewer on a record-level format (decode at index and read time)', () => {
  let dir: string;
  let viewer: Viewer;
  let token: string;
  const jpeg = encodeTinyImage('jpeg', { width: 12, height: 6 });
  const json = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${viewer.port}${path}`, { headers: { 'x-llava-token': token } });
    expect(r.status, path).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API, checked field by field
    return (await r.json()) as Record<string, any>;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-view-decode-'));
    await writeFile(join(dir, 'coco-1.jpg'), jpeg);
    const lines = [
      { key: 'one', q: 'What is the cat doing?', a: 'Sleeping.', pic: 'coco-1.jpg' },
      { key: 'two', q: 'Say hi', a: 'hi' },
      { key: 'bad', q: 3 },
      { key: 'boom', boom: true },
      { key: 'junk', junk: true },
    ];
    await writeFile(join(dir, 'qa.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    viewer = await startViewer({ inputs: [join(dir, 'qa.jsonl')], images: [dir], decode: decodeQa });
    token = new URL(viewer.url).searchParams.get('token')!;
    await viewer.tokensCounted;
  });
  afterAll(async () => {
    await viewer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('summarises the decoded records, and lists the ones that do not decode with their diagnostics', async () => {
    const rows = await json('/api/rows');
    expect(rows.total).toBe(5);
    expect(rows.rows.map((r: { id: unknown }) => r.id)).toEqual(['one', 'two', null, null, null]);
    expect(rows.rows.map((r: { turns: number }) => r.turns)).toEqual([2, 2, 0, 0, 0]);
    expect(rows.rows.map((r: { images: number }) => r.images)).toEqual([1, 0, 0, 0, 0]);
    expect(rows.rows.map((r: { source: string }) => r.source)).toEqual([
      '(bare)',
      'text-only',
      '(not decoded)',
      '(not decoded)',
      '(not decoded)',
    ]);
    expect(rows.rows[0].tokens).toBeGreaterThan(3);
    expect(rows.rows[2].rules).toEqual(['qa/shape']);
    expect(rows.rows[3].rules).toEqual(['view/decode-failed']);
    expect(rows.rows[4].rules).toEqual(['view/decode-failed']);
  });

  it('opens a decoded record as its canonical record, renders it, and serves its image', async () => {
    const view = await json('/api/record?n=0');
    expect(view.value).toEqual({
      id: 'one',
      image: 'coco-1.jpg',
      conversations: [
        { from: 'human', value: '<image>\nWhat is the cat doing?' },
        { from: 'gpt', value: 'Sleeping.' },
      ],
    });
    expect(JSON.parse(view.text)).toEqual(view.value);
    expect(view.rendered).toContain('What is the cat doing?');
    expect(view.images[0]).toMatchObject({ ref: 'coco-1.jpg', status: 'found', format: 'jpeg', width: 12 });
    const image = await fetch(`http://127.0.0.1:${viewer.port}/api/image?n=0&slot=0`, {
      headers: { 'x-llava-token': token },
    });
    expect(image.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await image.arrayBuffer()), Buffer.from(jpeg))).toBe(0);
    const boom = await json('/api/record?n=3');
    expect(boom.value).toBeNull();
    expect(boom.text).toBe('{"key":"boom","boom":true}');
    expect(boom.diagnostics.map((d: { message: string }) => d.message).join()).toContain('kaboom');
  });
});
