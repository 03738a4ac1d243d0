import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JoinedItem, joinMetadata, readRecords } from './index.js';
import { hash30 } from './join.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llavakit-join-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const conv = [
  { from: 'human', value: '<image>\nDescribe.' },
  { from: 'gpt', value: 'x' },
];

async function run(chat: unknown[], meta: unknown[] | string, options: { matchIds?: boolean; jsonl?: boolean } = {}) {
  const chatFile = join(dir, 'chat.json');
  const metaFile = join(dir, options.jsonl ? 'meta.jsonl' : 'meta.json');
  await writeFile(chatFile, JSON.stringify(chat, null, 2));
  await writeFile(
    metaFile,
    typeof meta === 'string'
      ? meta
      : options.jsonl
        ? meta.map((m) => JSON.stringify(m)).join('\n')
        : `\uFEFF${JSON.stringify(meta, null, 2)}`,
  );
  const diagnostics: Diagnostic[] = [];
  const out: JoinedItem[] = [];
  for await (const j of joinMetadata(readRecords(chatFile), metaFile, {
    file: 'chat.json',
    metaFile: 'meta.json',
    matchIds: options.matchIds,
    onDiagnostic: (d) => diagnostics.push(d),
  })) {
    out.push(j);
  }
  return { out, diagnostics };
}

describe('joinMetadata', () => {
  it('attaches metadata by image, in any order, keeping keys as found', async () => {
    const chat = [
      { id: 'GCC_train_1', image: 'GCC_train_1.jpg', conversations: conv },
      { id: 'GCC_train_2', image: 'GCC_train_2.jpg', conversations: conv },
      { id: 'GCC_train_3', image: 'GCC_train_3.jpg', conversations: conv },
    ];
    const meta = [
      { id: 'GCC_train_3', image: 'GCC_train_3.jpg', caption: 'c3', url: 'u3', blip_caption: 'b3' },
      { id: 'GCC_train_1', image: 'GCC_train_1.jpg', caption: 'c1 é🙂', url: 'u1' },
    ];
    const { out, diagnostics } = await run(chat, meta);
    expect(out.map((j) => j.meta)).toEqual([meta[1], undefined, meta[0]]);
    expect(out.map((j) => j.item.place.index)).toEqual([0, 1, 2]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      ruleId: 'join/no-metadata',
      severity: 'info',
      file: 'chat.json',
      recordIndex: 1,
      recordId: 'GCC_train_2',
      place: { line: 16 },
    });
  });

  it('requires equal ids when both records have one (unless matchIds is false)', async () => {
    const chat = [{ id: '004539375', image: '00453/004539375.jpg', conversations: conv }];
    const meta = [{ id: '999', image: '00453/004539375.jpg', blip_caption: 'b' }];
    const strict = await run(chat, meta);
    expect(strict.out[0]!.meta).toBeUndefined();
    expect(strict.diagnostics.map((d) => d.ruleId)).toEqual(['join/id-mismatch']);
    const loose = await run(chat, meta, { matchIds: false });
    expect(loose.out[0]!.meta).toEqual(meta[0]);
  });

  it('uses the duplicate whose id matches, and warns about duplicates', async () => {
    const chat = [{ id: 'b', image: 'same.jpg', conversations: conv }];
    const meta = [
      { id: 'a', image: 'same.jpg', caption: 'A' },
      { id: 'b', image: 'same.jpg', caption: 'B' },
    ];
    const { out, diagnostics } = await run(chat, meta, { jsonl: true });
    expect(out[0]!.meta).toEqual(meta[1]);
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['join/duplicate-key']);
  });

  it('passes broken chat records through and reports broken meta records', async () => {
    const chatFile = join(dir, 'chat-broken.json');
    await writeFile(chatFile, '[{"id": "1", "image": "1.jpg",}, {"id": "2", "image": "2.jpg"}]');
    const metaFile = join(dir, 'meta-broken.json');
    await writeFile(metaFile, '[{"image": "2.jpg", "caption": "two"}, {"image": "3.jpg", "caption": }]');
    const diagnostics: Diagnostic[] = [];
    const out: JoinedItem[] = [];
    for await (const j of joinMetadata(readRecords(chatFile), metaFile, { onDiagnostic: (d) => diagnostics.push(d) })) {
      out.push(j);
    }
    expect(out.map((j) => [j.item.ok, j.meta])).toEqual([
      [false, undefined],
      [true, { image: '2.jpg', caption: 'two' }],
    ]);
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['json/syntax']);
  });

  it('keeps images apart when their hashes collide', async () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `${String(i).padStart(9, '0')}.jpg`;
      const h = hash30(name);
      const other = seen.get(h);
      if (other !== undefined) pair = [other, name];
      else seen.set(h, name);
    }
    const [a, b] = pair;
    expect(hash30(a)).toBe(hash30(b));
    const chat = [
      { image: b, conversations: conv },
      { image: a, conversations: conv },
      { image: 'other.jpg', conversations: conv },
    ];
    const meta = [
      { image: a, caption: 'A' },
      { image: b, caption: 'B' },
    ];
    const { out, diagnostics } = await run(chat, meta);
    expect(out.map((j) => j.meta?.caption)).toEqual(['B', 'A', undefined]);
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['join/no-metadata']);
  });

  it('reports a missing metadata file as input/not-found', async () => {
    const iterate = async () => {
      for await (const _ of joinMetadata(readRecords(join(dir, 'chat.json')), join(dir, 'absent.json'))) {
        /* drain */
      }
    };
    await expect(iterate()).rejects.toMatchObject({ diagnostic: { ruleId: 'input/not-found' } });
  });
});
