import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';

const S_V1 =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const CAT = {
  id: '000000052846',
  image: '000000052846.jpg',
  conversations: [
    { from: 'human', value: 'Where is the cat positioned in the image?\n<image>' },
    { from: 'gpt', value: 'The cat is on the couch.' },
    { from: 'human', value: 'What is it doing?' },
    { from: 'gpt', value: 'Resting.' },
  ],
};

describe('llava render (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    input = join(dir, 'data.jsonl');
    const bad = {
      id: 'bad',
      conversations: [
        { from: 'human', value: 'Q' },
        { from: 'human', value: 'Q2' },
      ],
    };
    await writeFile(input, [CAT, bad, { conversations: 'nope' }].map((r) => JSON.stringify(r)).join('\n'));
  });
  afterAll(() => cleanup());

  it('prints records rendered byte for byte, as JSON Lines with --json', async () => {
    const result = await runCli(['render', input, '--template', 'v1', '--json']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      index: 0,
      id: '000000052846',
      text: `${S_V1} USER: <image>\nWhere is the cat positioned in the image? ASSISTANT: The cat is on the couch.</s>USER: What is it doing? ASSISTANT: Resting.</s>`,
    });
    expect(lines[1]).toMatchObject({
      index: 1,
      id: 'bad',
      error: { ruleId: 'render/failed', pointer: '/conversations/1' },
    });
    expect(lines[2]).toMatchObject({ index: 2, error: { ruleId: 'render/failed' } });
  });

  it('prints human-readable output and reports failures on stderr', async () => {
    const result = await runCli(['render', input, '--template', 'chatml_direct', '--limit', '2']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      '--- record 0 (id "000000052846")\n<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\nWhere is the cat positioned in the image?<|im_end|><|im_start|>assistant\nThe cat is on the couch.<|im_end|><|im_start|>user\nWhat is it doing?<|im_end|><|im_start|>assistant\nResting.<|im_end|>\n',
    );
    expect(result.stderr).toContain('record #1 (id "bad")');
    expect(result.stderr).toContain('1 record(s) could not be rendered with chatml_direct');
  });

  it('renders generation prompts in inference mode', async () => {
    const one = join(dir, 'one.json');
    await writeFile(one, JSON.stringify([CAT]));
    const result = await runCli([
      'render',
      one,
      '--template',
      'llava_v0',
      '--mode',
      'inference',
      '--generation',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).text.endsWith('###Human: What is it doing?###Assistant:')).toBe(true);
  });

  it('treats an unknown template and --generation without inference as usage errors (exit 2)', async () => {
    expect((await runCli(['render', input, '--template', 'vicuna_v9'])).code).toBe(2);
    expect((await runCli(['render', input, '--template', 'v1', '--generation'])).code).toBe(2);
  });
});
