import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../../test-utils.js';

const FIX = join(repoRoot, 'packages/prompts/src/__fixtures__');
const coco = [
  '--coco-captions',
  join(FIX, 'coco/captions_mini2017.json'),
  '--coco-instances',
  join(FIX, 'coco/instances_mini2017.json'),
];

describe('llava prompts build (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('writes Batch files split by --max-requests and a manifest from COCO annotations', async () => {
    const out = join(dir, 'coco');
    const args = ['prompts', 'build', '--prompts', join(FIX, 'prompts'), ...coco, '--model', 'gpt-4o', '-o', out];
    const result = await runCli([...args, '--max-requests', '4', '--temperature', '0.2', '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ images: 2, requests: 6, kinds: ['conversation', 'detail', 'complex_reasoning'] });
    expect(summary.files.map((f: { requests: number }) => f.requests)).toEqual([4, 2]);
    expect(summary.diagnostics.map((d: { ruleId: string }) => d.ruleId)).toEqual(['prompts/no-captions']);
    expect((await readdir(out)).sort()).toEqual(['batch-0001.jsonl', 'batch-0002.jsonl', 'manifest.jsonl']);
    const lines = (await readFile(join(out, 'batch-0001.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[1]).toMatchObject({ custom_id: 'detail:000000000101', method: 'POST', url: '/v1/chat/completions' });
    expect(lines[1].body.temperature).toBe(0.2);
    expect(lines[1].body.messages.at(-1).content).toBe(
      'A kite flies over a green park.\nChildren watch a red kite in the sky.\n\nkite: [0.062, 0.062, 0.22, 0.188]\nperson: [0.0, 0.5, 0.5, 1.0]',
    );
    expect(lines[0].body.messages.at(-1).content).toBe(
      'A kite flies over a green park.\nChildren watch a red kite in the sky.',
    );
  });

  it('builds one kind from caps-and-boxes JSONL and fails (exit 1) on bad lines after writing the good ones', async () => {
    const out = join(dir, 'caps');
    const result = await runCli([
      'prompts',
      'build',
      '--prompts',
      join(FIX, 'prompts'),
      '--kind',
      'detail',
      '--caps-boxes',
      join(FIX, 'capsboxes.jsonl'),
      '--model',
      'm',
      '-o',
      out,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('capsboxes.jsonl:4:1');
    expect(result.stderr).toContain('Built 2 requests (detail) for 2 images');
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(manifest.map((m: { custom_id: string }) => m.custom_id)).toEqual(['detail:000000000101', 'detail:202']);
  });

  it('reports a broken prompt folder (exit 1) and a bad --kind (exit 2)', async () => {
    const broken = await runCli([
      'prompts',
      'build',
      '--prompts',
      join(FIX, 'broken/missing-pair/conversation'),
      ...coco,
      '--model',
      'm',
      '-o',
      join(dir, 'x'),
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('[prompts/missing-pair]');
    const usage = await runCli([
      'prompts',
      'build',
      '--prompts',
      join(FIX, 'prompts'),
      '--kind',
      'poems',
      ...coco,
      '--model',
      'm',
      '-o',
      join(dir, 'y'),
    ]);
    expect(usage.code).toBe(2);
    const neither = await runCli([
      'prompts',
      'build',
      '--prompts',
      join(FIX, 'prompts'),
      '--model',
      'm',
      '-o',
      join(dir, 'z'),
    ]);
    expect(neither.code).toBe(2);
  });

  it('calls an OpenAI-compatible endpoint directly with --base-url and resumes', async () => {
    let calls = 0;
    const server = createServer(async (req, res) => {
      for await (const _ of req) {
        // drain
      }
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [
            { message: { role: 'assistant', content: 'Question:\nQ?\n===\nAnswer:\nA.' }, finish_reason: 'stop' },
          ],
        }),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const out = join(dir, 'direct');
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const args = [
        'prompts',
        'build',
        '--prompts',
        join(FIX, 'prompts'),
        ...coco,
        '--model',
        'm',
        '-o',
        out,
        '--base-url',
        baseUrl,
        '--concurrency',
        '2',
      ];
      const first = await runCli([...args, '--json']);
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout).endpoint).toMatchObject({ succeeded: 6, failed: 0, skipped: 0 });
      expect(calls).toBe(6);
      const again = await runCli(args);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('0 answered, 0 failed, 6 already done');
      expect(calls).toBe(6);
      expect((await readdir(out)).sort()).toEqual(['errors.jsonl', 'manifest.jsonl', 'output.jsonl']);
    } finally {
      server.close();
    }
  });
});
