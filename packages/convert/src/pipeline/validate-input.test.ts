import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { createValidator } from '@llavakit/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { chooseValidation, readForValidation, sourcePointer } from './validate-input.js';

const H = (value: string) => ({ from: 'human', value });
const G = (value: string) => ({ from: 'gpt', value });

describe('validation of any readable format', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llavakit-vinput-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, records: unknown[]) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(records));
    return path;
  };
  const registry = createBuiltinRegistry();

  /** Validate a file as `llava validate` does; the diagnostics as [rule, pointer] pairs. */
  async function validate(path: string, from?: string) {
    const plan = await chooseValidation(path, { registry, ...(from ? { from } : {}) });
    const validator = createValidator({ file: path, kind: plan.kind, ignore: plan.ignore });
    const found: [string, string | undefined][] = [];
    for await (const item of readForValidation(path, plan, { file: path })) {
      if (!item.ok) for (const d of item.diagnostics) found.push([d.ruleId, d.pointer]);
      else {
        for (const d of validator.check(item.value, item.place, item.text)) {
          found.push([d.ruleId, plan.decode && d.pointer ? sourcePointer(d.pointer, item.raw) : d.pointer]);
        }
      }
    }
    for (const d of validator.finish()) found.push([d.ruleId, d.pointer]);
    return { plan, found };
  }

  it('a ShareGPT file with <image> anywhere and repeated images: decoded, LLaVA-only rules off, no false findings', async () => {
    const path = await file('sg.json', [
      {
        conversations: [H('Who are they?<image>'), G('Two players.'), H('<image>And now?'), G('Celebrating.')],
        images: ['1.jpg', '1.jpg'],
      },
    ]);
    const { plan, found } = await validate(path);
    expect(plan).toMatchObject({
      by: 'detected',
      kind: 'llava-next',
      decode: true,
      ignore: ['image/placement', 'image/list'],
    });
    expect(plan.format.name).toBe('sharegpt');
    expect(found).toEqual([]);
    // read as LLaVA records, the same file would be wrong twice over
    const asLlava = await validate(
      await file('raw.json', [{ image: ['1.jpg', '1.jpg'], conversations: [H('Who?<image>'), G('A.')] }]),
    );
    expect(asLlava.found.map(([rule]) => rule)).toEqual(['image/token-count']);
  });

  it('points into the record as written, and reports records the format cannot decode', async () => {
    const path = await file('swift.json', [
      {
        messages: [
          { role: 'user', content: '<image>Q' },
          { role: 'assistant', content: 'A' },
        ],
        images: ['a.jpg', 'b.jpg'],
      },
      {
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: '' },
        ],
      },
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'Q' }] }] },
    ]);
    const { plan, found } = await validate(path, 'swift');
    expect(plan.by).toBe('from');
    expect(found).toEqual([
      ['image/token-count', '/messages/0/content'],
      ['value/empty', '/messages/1/content'],
      ['record/content-part', '/messages/0/content'],
    ]);
  });

  it('metadata records are validated as metadata whatever the file is called; kinds can be named with from', async () => {
    const meta = await file('chat.json', [{ id: 'x', image: 'x.jpg', caption: 'a dog .' }]);
    expect((await chooseValidation(meta, { registry })).kind).toBe('metadata');
    const next = await file('next.json', [{ image: ['a.jpg'], conversations: [H('<image>Q'), G('A')] }]);
    expect(await chooseValidation(next, { registry, from: 'llava-next' })).toMatchObject({
      kind: 'llava-next',
      decode: false,
    });
    expect((await chooseValidation(next, { registry })).kind).toBe('llava-next');
  });

  it('an input no format fits is a format/ambiguous error', async () => {
    const odd = await file('odd.json', [{ question_id: 1, text: 'Q' }]);
    const error = await chooseValidation(odd, { registry }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error) && error.diagnostic.ruleId).toBe('format/ambiguous');
  });

  it('a stream-level reader (format.read) is validated through its own read', async () => {
    const custom = createBuiltinRegistry();
    custom.add(
      defineFormat({
        specVersion: 1,
        name: 'shards',
        detect: (probe) => (probe.values.some((v) => typeof v === 'object' && v !== null && 'shard' in v) ? 0.99 : 0),
        async *read() {
          yield { ok: true, index: 0, record: { image: 'a.jpg', conversations: [H('Q'), G('A')] } };
          yield { ok: true, index: 1, record: { conversations: [H('Q'), G('A')] } };
        },
      }),
      { plugin: 'test', via: 'builtin' },
    );
    const path = await file('shards.json', [{ shard: 0 }]);
    const plan = await chooseValidation(path, { registry: custom });
    expect(plan).toMatchObject({ decode: true, kind: 'llava-next' });
    const seen: unknown[] = [];
    for await (const item of readForValidation(path, plan, { file: path })) if (item.ok) seen.push(item.value);
    expect(seen).toHaveLength(2);
  });

  it('sourcePointer maps canonical pointers to the written layout', () => {
    const chat = { messages: [{ role: 'user', content: 'x' }], images: [] };
    expect(sourcePointer('/conversations/0/value', chat)).toBe('/messages/0/content');
    expect(sourcePointer('/conversations/0/from', chat)).toBe('/messages/0/role');
    expect(sourcePointer('/image/1', chat)).toBe('/images/1');
    expect(sourcePointer('/conversations/0/value', { conversations: [] })).toBe('/conversations/0/value');
    expect(sourcePointer('/video', { messages: [], videos: [] })).toBe('/videos');
  });
});
