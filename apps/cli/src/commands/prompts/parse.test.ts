import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../test-utils.js';

const ok = (id: string, content: string) =>
  JSON.stringify({
    id: `r-${id}`,
    custom_id: id,
    response: { status_code: 200, body: { choices: [{ message: { content } }] } },
    error: null,
  });

describe('llava prompts parse (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let output: string;
  let errors: string;
  let manifest: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    output = join(dir, 'batch_output.jsonl');
    errors = join(dir, 'batch_errors.jsonl');
    manifest = join(dir, 'manifest.jsonl');
    await writeFile(
      output,
      [
        ok('detail:7', 'A cat sleeps on a sill.\n\nA fern stands beside it.'),
        ok(
          'conversation:7',
          'Question:\nWhat animal?\n===\nAnswer:\nA cat.\n===\nQuestion:\nIs it awake?\n===\nAnswer:\nNo.',
        ),
        ok('complex_reasoning:7', 'Question:\nWhy is the cat there?\n===\nAnswer:\nThe sill is warm.'),
        ok('conversation:8', 'What animal? A cat.'),
      ].join('\n'),
    );
    await writeFile(
      errors,
      `${JSON.stringify({ custom_id: 'detail:8', response: { status_code: 500, body: {} }, error: null })}\n`,
    );
    const entries = ['conversation', 'detail', 'complex_reasoning'].flatMap((kind) =>
      ['7', '8'].map((id) => ({ custom_id: `${kind}:${id}`, kind, id, image: `coco/${id}.jpg` })),
    );
    await writeFile(manifest, entries.map((e) => JSON.stringify(e)).join('\n'));
  });
  afterAll(() => cleanup());

  it('joins, parses and writes LLaVA records; malformed and failed requests are reported (exit 1)', async () => {
    const out = join(dir, 'records.json');
    const result = await runCli([
      'prompts',
      'parse',
      output,
      '--errors',
      errors,
      '--manifest',
      manifest,
      '-o',
      out,
      '--image-placement',
      'end',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[prompts/no-separator]');
    expect(result.stderr).toContain('conversation:8');
    expect(result.stderr).toContain('[prompts/request-failed]');
    expect(result.stderr).toContain('[prompts/missing-result]');
    const records = JSON.parse(await readFile(out, 'utf8'));
    expect(records.map((r: { id: string; image: string }) => [r.id, r.image])).toEqual([
      ['7', 'coco/7.jpg'],
      ['7', 'coco/7.jpg'],
      ['7', 'coco/7.jpg'],
    ]);
    expect(records[0].conversations).toEqual([
      { from: 'human', value: 'What animal?\n<image>' },
      { from: 'gpt', value: 'A cat.' },
      { from: 'human', value: 'Is it awake?' },
      { from: 'gpt', value: 'No.' },
    ]);
    expect(records[1].conversations[1].value).toBe('A cat sleeps on a sill.\n\nA fern stands beside it.');
  });

  it('writes one file per kind and a JSON summary', async () => {
    const out = join(dir, 'by-kind');
    const result = await runCli([
      'prompts',
      'parse',
      output,
      '--manifest',
      manifest,
      '-o',
      out,
      '--by-kind',
      '--json',
      '--seed',
      '3',
    ]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      records: 3,
      rejected: 1,
      byKind: { conversation: 1, detail: 1, complex_reasoning: 1 },
    });
    const detail = JSON.parse(await readFile(join(out, 'detail_description.json'), 'utf8'));
    expect(detail[0].conversations[0].value.startsWith('<image>\n')).toBe(true);
  });

  it('a missing --manifest is a prompts/missing-file diagnostic naming the file (exit 1), and nothing is written', async () => {
    const out = join(dir, 'none.json');
    const missing = join(dir, 'no-manifest.jsonl');
    const result = await runCli(['prompts', 'parse', output, '--manifest', missing, '-o', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(result.stderr).toMatch(
      /no-manifest\.jsonl +error +Cannot read the manifest \S+: it does not exist\. +\[prompts\/missing-file\]/,
    );
    expect(result.stderr).toContain('[prompts/missing-file]');
    expect(result.stderr).toContain('hint: Check the path');
    expect(result.stderr).not.toContain('Error:');
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('rejects a bad --image-placement as a usage error', async () => {
    const result = await runCli(['prompts', 'parse', output, '-o', join(dir, 'x.json'), '--image-placement', 'middle']);
    expect(result.code).toBe(2);
  });
});
