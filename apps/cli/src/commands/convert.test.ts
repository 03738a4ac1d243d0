import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../test-utils.js';

const sample = join(repoRoot, 'examples/sample/llava_sample.json');

describe('llava convert (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir()));
  afterAll(() => cleanup());

  it('converts the bundled sample to ShareGPT with one images entry per <image> token', async () => {
    const out = join(dir, 'sharegpt.json');
    const result = await runCli(['convert', sample, '--to', 'sharegpt', '-o', out, '--image-root', '/data/images']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('read 6, written 6, rejected 0');
    const records = JSON.parse(await readFile(out, 'utf8'));
    const source = JSON.parse(await readFile(sample, 'utf8'));
    expect(records).toHaveLength(6);
    expect(records[0]).toEqual({
      id: '000000100001',
      conversations: source[0].conversations,
      images: ['/data/images/000000100001.jpg'],
    });
    expect(records[5].images).toBeUndefined();
    for (const record of records) {
      const tokens = record.conversations.map((t: { value: string }) => t.value.split('<image>').length - 1);
      expect(tokens.reduce((a: number, b: number) => a + b, 0)).toBe(record.images?.length ?? 0);
    }
  });

  it('writes JSONL when the output ends in .jsonl, and a JSON summary with --json', async () => {
    const out = join(dir, 'out.jsonl');
    const result = await runCli(['convert', sample, '--to', 'sharegpt', '-o', out, '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 6, written: 6, rejected: 0, container: 'jsonl', to: 'sharegpt' });
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).conversations.length)).toEqual([4, 2, 2, 2, 4, 2]);
  });

  it('reads standard input and writes standard output', async () => {
    const input = await readFile(sample);
    const result = await runCli(['convert', '-', '--to', 'sharegpt', '--container', 'jsonl', '-q'], { input });
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(6);
    expect(result.stderr).toBe('');
  });

  it('rejects bad records to the rejects file and keeps read = written + rejected', async () => {
    const input = join(dir, 'mixed.json');
    await writeFile(
      input,
      JSON.stringify([
        {
          id: 1,
          image: 'a.jpg',
          conversations: [
            { from: 'human', value: '<image>\nHi' },
            { from: 'gpt', value: 'Yo' },
          ],
        },
        {
          id: 2,
          image: 'b.jpg',
          conversations: [
            { from: 'human', value: 'no token' },
            { from: 'gpt', value: 'x' },
          ],
        },
        { id: 3, conversations: 'not a list' },
      ]),
    );
    const out = join(dir, 'mixed.out.json');
    const rejects = join(dir, 'rejects.jsonl');
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', out, '--rejects', rejects, '--json']);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 3, written: 1, rejected: 2 });
    const rejected = (await readFile(rejects, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(rejected[0].diagnostics[0]).toMatchObject({ ruleId: 'image/count-mismatch', recordIndex: 1, recordId: 2 });
    expect(rejected[1].diagnostics[0]).toMatchObject({
      ruleId: 'record/schema',
      recordIndex: 2,
      pointer: '/conversations',
    });
  });

  it('--on-invalid fail stops at the first invalid record, exits 1 and writes no output', async () => {
    const input = join(dir, 'bad.json');
    await writeFile(input, '[{"conversations": 5}]');
    const out = join(dir, 'never.json');
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', out, '--on-invalid', 'fail']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('record/schema');
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it('reports a truncated file with its place and exits 1', async () => {
    const input = join(dir, 'cut.json');
    await writeFile(input, '[\n  {"id": "a", "conversations": []},\n  {"id": "b", "conv');
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-o', join(dir, 'cut.out.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cut\.json:3:\d+/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('attaches metadata records by image with --metadata, and counts records without any', async () => {
    const chat = join(dir, 'chat.json');
    const meta = join(dir, 'metadata.json');
    const turns = [
      { from: 'human', value: 'Describe the image concisely.\n<image>' },
      { from: 'gpt', value: 'a dog on a beach .' },
    ];
    await writeFile(
      chat,
      JSON.stringify([
        { id: 'GCC_train_000000001', image: 'GCC_train_000000001.jpg', conversations: turns },
        { id: 'GCC_train_000000002', image: 'GCC_train_000000002.jpg', conversations: turns },
      ]),
    );
    await writeFile(
      meta,
      JSON.stringify([
        {
          id: 'GCC_train_000000002',
          image: 'GCC_train_000000002.jpg',
          caption: 'a dog .',
          blip_caption: 'a dog',
          url: 'x',
        },
      ]),
    );
    const out = join(dir, 'joined.jsonl');
    const result = await runCli(['convert', chat, '--metadata', meta, '--to', 'llava', '-o', out, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).counts).toMatchObject({ 'metadata:attached': 1, 'metadata:missing': 1 });
    const [first, second] = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(first.metadata).toBeUndefined();
    expect(second.metadata).toEqual({
      id: 'GCC_train_000000002',
      image: 'GCC_train_000000002.jpg',
      caption: 'a dog .',
      blip_caption: 'a dog',
      url: 'x',
    });
  });

  it('writes and merges the LLaMA-Factory dataset_info.json entry with --dataset-info', async () => {
    const info = join(dir, 'lf/dataset_info.json');
    await mkdir(join(dir, 'lf'), { recursive: true });
    await writeFile(info, JSON.stringify({ mine: { file_name: 'mine.json', note: 'kept' } }));
    const out = join(dir, 'lf/llava_sample.json');
    const result = await runCli(['convert', sample, '--to', 'sharegpt', '-o', out, '--dataset-info', info, '-q']);
    expect(result.code).toBe(0);
    const entries = JSON.parse(await readFile(info, 'utf8'));
    expect(entries.mine).toEqual({ file_name: 'mine.json', note: 'kept' });
    expect(entries.llava_sample).toMatchObject({
      file_name: 'llava_sample.json',
      formatting: 'sharegpt',
      columns: { messages: 'conversations', images: 'images' },
      tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
    });
    const usage = await runCli([
      'convert',
      sample,
      '--to',
      'openai',
      '-o',
      join(dir, 'x.jsonl'),
      '--dataset-info',
      info,
    ]);
    expect(usage.code).toBe(2);
  });

  it('exits 2 on usage errors', async () => {
    expect((await runCli(['convert', sample])).code).toBe(2);
    expect((await runCli(['convert', sample, '--to', 'no-such-format'])).code).toBe(2);
    expect((await runCli(['convert', sample, '--to', 'sharegpt', '--container', 'xml'])).code).toBe(2);
    expect((await runCli(['no-such-command'])).code).toBe(2);
  });
});
