import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRecords } from './render-records.js';
import { renderConversation } from './templates.js';

const good = {
  id: 'a',
  image: 'x.jpg',
  conversations: [
    { from: 'human', value: 'What is it?\n<image>' },
    { from: 'gpt', value: 'A cat.' },
  ],
};
const textOnly = {
  id: 7,
  conversations: [
    { from: 'human', value: 'Hi' },
    { from: 'gpt', value: 'Hello.' },
  ],
};
const badRole = { id: 'r', conversations: [{ from: 'robot', value: 'beep' }] };

async function collect(input: string, options: Parameters<typeof renderRecords>[1]) {
  const out = [];
  for await (const r of renderRecords(input, options)) out.push(r);
  return out;
}

describe('renderRecords (llava render as a library call)', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-render-records-'));
    file = join(dir, 'data.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify(good),
        '{"id": "broken",',
        JSON.stringify({ id: 'n' }),
        JSON.stringify(badRole),
        JSON.stringify(textOnly),
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives one result per record read, in order: the text LLaVA builds, or the diagnostic placed by file and index', async () => {
    const results = await collect(file, { template: 'v1' });
    expect(results.map((r) => [r.index, r.ok])).toEqual([
      [0, true],
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    const [first, broken, notLlava, role, last] = results;
    expect(first).toEqual({ index: 0, id: 'a', ok: true, text: renderConversation(good, { template: 'v1' }) });
    expect(last).toMatchObject({ index: 4, id: 7, ok: true });
    expect(broken).not.toHaveProperty('id');
    expect(broken?.ok === false && broken.diagnostic.ruleId).toBe('json/syntax');
    expect(notLlava).toMatchObject({
      id: 'n',
      ok: false,
      diagnostic: { ruleId: 'render/failed', file, recordIndex: 2, place: { line: 3, column: 1 } },
    });
    expect(role).toMatchObject({ id: 'r', ok: false, diagnostic: { file, recordIndex: 3, recordId: 'r' } });
    // thrown by the template (an unknown role), then placed like the others
    expect(role?.ok === false && role.diagnostic.message).toMatch(/robot/);
  });

  it('passes mode, generation and im_start/im_end to the template, and stops at the limit', async () => {
    const options = { template: 'llava_v1', mode: 'inference', generation: true, mmUseImStartEnd: true } as const;
    const results = await collect(file, { ...options, limit: 1 });
    expect(results).toEqual([{ index: 0, id: 'a', ok: true, text: renderConversation(good, options) }]);
    expect(results[0]?.ok && results[0].text).toContain('<im_start>');
  });

  it('a file that cannot be read throws its DiagnosticError', async () => {
    const error = await collect(join(dir, 'none.json'), { template: 'v1' }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error) && error.diagnostic.ruleId).toBe('input/not-found');
  });
});
