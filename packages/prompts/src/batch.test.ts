import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBatchFiles } from './batch.js';
import { joinBatchOutput } from './batch-output.js';
import type { ImageContext } from './context.js';
import { loadPromptFolder, loadPromptSet } from './folder.js';
import { readManifest, writeManifest } from './manifest.js';
import { buildChatRequest, buildChatRequests, type ChatRequest, makeCustomId, splitCustomId } from './request.js';

const FIX = join(import.meta.dirname, '__fixtures__');
const IMAGE: ImageContext = {
  id: '000000000101',
  image: '000000000101.jpg',
  captions: ['A kite flies over a green park.', 'Children watch a red kite.'],
  instances: [{ category: 'kite', bbox: [0.062, 0.062, 0.22, 0.188] }],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prompts-batch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buildChatRequest', () => {
  it('assembles system, few-shot pairs in order, then the query context', async () => {
    const folder = await loadPromptFolder(join(FIX, 'prompts/detail_description'));
    const request = buildChatRequest(folder, IMAGE, { model: 'gpt-4o', parameters: { temperature: 0.2 } });
    expect(request.custom_id).toBe('detail:000000000101');
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/chat/completions');
    expect(request.body.model).toBe('gpt-4o');
    expect(request.body.temperature).toBe(0.2);
    const roles = request.body.messages.map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(request.body.messages[1]!.content).toBe(folder.examples[0]!.user);
    expect(request.body.messages[4]!.content).toBe(folder.examples[1]!.assistant);
    expect(request.body.messages.at(-1)!.content).toBe(
      'A kite flies over a green park.\nChildren watch a red kite.\n\nkite: [0.062, 0.062, 0.22, 0.188]',
    );
  });

  it('uses captions only for conversation, and the early-form instruction', async () => {
    const conv = await loadPromptFolder(join(FIX, 'prompts/conversation'));
    expect(buildChatRequest(conv, IMAGE, { model: 'm' }).body.messages.at(-1)!.content).toBe(
      'A kite flies over a green park.\nChildren watch a red kite.',
    );
    const early = await loadPromptFolder(join(FIX, 'early/conversation'));
    expect(buildChatRequest(early, IMAGE, { model: 'm' }).body.messages.at(-1)!.content).toMatch(
      /red kite\.\n\nInclude 2 rounds of QA\. Ask for a short description once\.$/,
    );
  });

  it('builds one request per image and folder with a manifest', async () => {
    const set = await loadPromptSet(join(FIX, 'prompts'));
    const built = [
      ...buildChatRequests(Object.values(set), [IMAGE, { ...IMAGE, id: '2', image: '2.jpg' }], { model: 'm' }),
    ];
    expect(built.map((b) => b.request.custom_id)).toEqual([
      'conversation:000000000101',
      'detail:000000000101',
      'complex_reasoning:000000000101',
      'conversation:2',
      'detail:2',
      'complex_reasoning:2',
    ]);
    expect(built[4]!.manifest).toEqual({ custom_id: 'detail:2', kind: 'detail', id: '2', image: '2.jpg' });
    expect(splitCustomId(makeCustomId('complex_reasoning', 'a:b'))).toEqual({ kind: 'complex_reasoning', id: 'a:b' });
    expect(splitCustomId('other:1')).toBeUndefined();
  });
});

function fakeRequests(n: number, size = 10): ChatRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `conversation:${i}`,
    method: 'POST' as const,
    url: '/v1/chat/completions' as const,
    body: { model: 'm', messages: [{ role: 'user' as const, content: 'x'.repeat(size) }] },
  }));
}

describe('writeBatchFiles', () => {
  it('splits by request count', async () => {
    const { files, requests } = await writeBatchFiles(fakeRequests(5), { outDir: dir, maxRequests: 2 });
    expect(requests).toBe(5);
    expect(files.map((f) => f.requests)).toEqual([2, 2, 1]);
    const text = await readFile(files[0]!.path, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect(JSON.parse(text.split('\n')[1]!).custom_id).toBe('conversation:1');
    expect(files[0]!.path.endsWith('batch-0001.jsonl')).toBe(true);
  });

  it('splits by bytes, never above the limit, and reports what cannot fit', async () => {
    const reqs = fakeRequests(10, 100);
    const lineBytes = Buffer.byteLength(`${JSON.stringify(reqs[0])}\n`);
    const maxBytes = lineBytes * 3 + 5;
    const big = { ...fakeRequests(1, 2000)[0]!, custom_id: 'conversation:big' };
    const { files, diagnostics } = await writeBatchFiles([...reqs, big, reqs[0]!], {
      outDir: dir,
      maxBytes,
      prefix: 'p',
    });
    expect(files.map((f) => f.requests)).toEqual([3, 3, 3, 1]);
    for (const f of files) {
      expect(f.bytes).toBeLessThanOrEqual(maxBytes);
      expect((await readFile(f.path)).length).toBe(f.bytes);
    }
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['prompts/oversized-request', 'prompts/duplicate-custom-id']);
  });
});

describe('joinBatchOutput', () => {
  const ok = (id: string, content: string, finish = 'stop') =>
    JSON.stringify({
      id: `batch_req_${id}`,
      custom_id: id,
      response: {
        status_code: 200,
        request_id: 'r',
        body: { choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }] },
      },
      error: null,
    });

  it('joins out-of-order output and an error file back by custom_id, in request order', async () => {
    const output = join(dir, 'out.jsonl');
    const errors = join(dir, 'err.jsonl');
    await writeFile(
      output,
      [ok('c:3', 'three'), ok('c:1', 'one'), '{broken', ok('c:9', 'nine'), ok('c:1', 'again')].join('\n'),
    );
    await writeFile(
      errors,
      [
        JSON.stringify({
          id: 'x',
          custom_id: 'c:2',
          response: { status_code: 400, body: { error: { message: 'bad request' } } },
          error: null,
        }),
        JSON.stringify({
          id: 'y',
          custom_id: 'c:4',
          response: null,
          error: { code: 'batch_expired', message: 'expired' },
        }),
      ].join('\n'),
    );
    const expected = ['c:1', 'c:2', 'c:3', 'c:4', 'c:5'];
    const { results, diagnostics } = await joinBatchOutput({ outputFile: output, errorFile: errors, expected });
    expect(results.map((r) => [r.customId, r.ok])).toEqual([
      ['c:1', true],
      ['c:2', false],
      ['c:3', true],
      ['c:4', false],
      ['c:9', true],
    ]);
    expect(results[0]).toMatchObject({ content: 'one', finishReason: 'stop' });
    expect(results[1]).toMatchObject({ statusCode: 400, error: 'bad request' });
    expect(results[3]).toMatchObject({ error: 'batch_expired: expired' });
    expect(diagnostics.map((d) => d.ruleId).sort()).toEqual([
      'prompts/bad-line',
      'prompts/duplicate-result',
      'prompts/missing-result',
      'prompts/request-failed',
      'prompts/request-failed',
      'prompts/unknown-result',
    ]);
    expect(diagnostics.find((d) => d.ruleId === 'prompts/bad-line')?.place?.line).toBe(3);

    const sorted = await joinBatchOutput({ outputFile: output });
    expect(sorted.results.map((r) => r.customId)).toEqual(['c:1', 'c:3', 'c:9']);
  });

  it('round-trips a manifest', async () => {
    const path = join(dir, 'manifest.jsonl');
    const entries = [{ custom_id: 'detail:1', kind: 'detail' as const, id: '1', image: 'a/1.jpg' }];
    expect(await writeManifest(path, entries)).toBe(1);
    await writeFile(path, `${await readFile(path, 'utf8')}{"custom_id": 5}\n`);
    const read = await readManifest(path);
    expect(read.entries).toEqual(entries);
    expect(read.diagnostics.map((d) => d.place?.line)).toEqual([2]);
  });
});

describe('parseResults', () => {
  it('turns joined results into records, reporting malformed and truncated responses', async () => {
    const { parseResults } = await import('./results.js');
    const results = [
      { customId: 'conversation:1', ok: true as const, statusCode: 200, content: 'Question:\nA?\n===\nAnswer:\nB.' },
      { customId: 'complex_reasoning:2', ok: true as const, statusCode: 200, content: 'Question:\nA?' },
      { customId: 'detail:3', ok: true as const, statusCode: 200, content: 'Long text', finishReason: 'length' },
      { customId: 'detail:4', ok: false as const, error: 'x' },
      { customId: 'weird', ok: true as const, statusCode: 200, content: 'x' },
    ];
    const manifest = [{ custom_id: 'conversation:1', kind: 'conversation' as const, id: '1', image: 'coco/1.jpg' }];
    const out = parseResults(results, { manifest, imagePlacement: 'end' });
    expect(out.records.map((r) => [r.customId, r.kind, r.record.image])).toEqual([
      ['conversation:1', 'conversation', 'coco/1.jpg'],
      ['detail:3', 'detail', '3.jpg'],
    ]);
    expect(out.records[0]!.record.conversations[0]!.value).toBe('A?\n<image>');
    expect(out.rejected).toBe(2);
    expect(out.diagnostics.map((d) => [d.ruleId, d.recordIndex])).toEqual([
      ['prompts/no-separator', 1],
      ['prompts/truncated-response', 2],
      ['prompts/unknown-kind', 4],
    ]);
  });
});
