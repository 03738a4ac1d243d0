import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../test-utils.js';

const sample = join(repoRoot, 'examples/sample/llava_sample.json');

/** Trainer fidelity as a user meets it: detection, LLaMA-Factory inputs, video, options, validate of any format. */
describe('llava convert / validate fidelity (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-fidelity-')));
  afterAll(() => cleanup());

  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(
      path,
      Array.isArray(content) && name.endsWith('.jsonl')
        ? `${content.map((r) => JSON.stringify(r)).join('\n')}\n`
        : JSON.stringify(content),
    );
    return path;
  };

  it('a CC-3M metadata.json given to convert says what it is and how to attach it, exit 1, nothing written', async () => {
    const meta = await file('metadata.json', [
      { id: 'GCC_train_1', image: 'GCC_train_1.jpg', caption: 'a dog .', blip_caption: 'a dog', url: 'u' },
    ]);
    const out = join(dir, 'never.json');
    const result = await runCli(['convert', meta, '--to', 'swift', '-o', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[input/metadata-file]');
    expect(result.stderr).toContain(`--metadata ${meta}`);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it('records no format recognises stop the run with the first record and every score, exit 1', async () => {
    const odd = await file('qa90_questions.jsonl', [{ question_id: 0, image: 'a.jpg', text: 'Q', category: 'conv' }]);
    const result = await runCli(['convert', odd, '--to', 'sharegpt', '-o', join(dir, 'odd.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[format/ambiguous]');
    expect(result.stderr).toContain('First record: {"question_id":0');
    expect(result.stderr).toContain('Scores: llava 0.00, sharegpt 0.00');
    expect(result.stderr).toContain('--from');
  });

  it('--image-token strip and parts go from LLaVA input to every target that takes them; others say which side refused', async () => {
    for (const [to, policy] of [
      ['swift', 'strip'],
      ['messages', 'strip'],
      ['messages', 'parts'],
      ['openai', 'strip'],
      ['openai', 'parts'],
    ] as const) {
      const out = join(dir, `${to}-${policy}.jsonl`);
      const result = await runCli(['convert', sample, '--to', to, '--image-token', policy, '-o', out, '-q']);
      expect(result.code, `${to} ${policy}: ${result.stderr}`).toBe(0);
      const first = JSON.parse((await readFile(out, 'utf8')).split('\n')[0]!);
      // no <image> text left in the messages (llava_meta keeps the original turns to read them back)
      expect(JSON.stringify(first.messages)).not.toContain('<image>');
      expect(first.images ?? first.messages).toBeTruthy();
    }
    const refused = await runCli([
      'convert',
      sample,
      '--to',
      'sharegpt',
      '--image-token',
      'strip',
      '-o',
      join(dir, 'r.json'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('of the output format "sharegpt"');
    const reader = await runCli([
      'convert',
      sample,
      '--to',
      'swift',
      '--read-option',
      'normalize=maybe',
      '-o',
      join(dir, 'x.jsonl'),
    ]);
    expect(reader.code).toBe(2);
    expect(reader.stderr).toContain('of the input format "llava"');
  });

  it('--to llava prints the normalization note only with --normalize', async () => {
    const plain = await runCli(['convert', sample, '--to', 'llava', '-o', join(dir, 'plain.json')]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toMatch(/normaliz/i);
    const normalized = await runCli(['convert', sample, '--to', 'llava', '--normalize', '-o', join(dir, 'norm.json')]);
    expect(normalized.code).toBe(0);
    expect(normalized.stderr).toContain('note: llava --normalize writes ids as strings');
  });

  it("LLaMA-Factory's video demo converts with its videos, and the dataset_info entry declares only real columns", async () => {
    const demo = await file('mllm_video_demo.json', [
      {
        messages: [
          { content: '<video>Why is this video funny?', role: 'user' },
          { content: 'Because a baby is reading, and he is so cute!', role: 'assistant' },
        ],
        videos: ['mllm_demo_data/1.mp4'],
      },
    ]);
    const out = join(dir, 'lf', 'video.json');
    const info = join(dir, 'lf', 'dataset_info.json');
    const result = await runCli([
      'convert',
      demo,
      '--to',
      'sharegpt',
      '-O',
      'layout=messages',
      '-o',
      out,
      '--dataset-info',
      info,
      '-q',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual([
      {
        messages: [
          { role: 'user', content: '<video>Why is this video funny?' },
          { role: 'assistant', content: 'Because a baby is reading, and he is so cute!' },
        ],
        videos: ['mllm_demo_data/1.mp4'],
      },
    ]);
    const entry = JSON.parse(await readFile(info, 'utf8')).video;
    expect(entry.columns).toEqual({ messages: 'messages', videos: 'videos' });
    expect(entry.tags).toMatchObject({
      role_tag: 'role',
      content_tag: 'content',
      user_tag: 'user',
      assistant_tag: 'assistant',
    });
  });

  it('validate reads any format: a ShareGPT file llavakit wrote has no false <image> warnings, and the detection is printed', async () => {
    const written = join(dir, 'train.json');
    expect((await runCli(['convert', sample, '--to', 'sharegpt', '-o', written, '-q'])).code).toBe(0);
    const result = await runCli(['validate', written]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${written}: sharegpt records, checked as llava-next (detected)`);
    expect(result.stdout).toContain('0 errors, 0 warnings');
    const json = await runCli(['validate', written, '--json']);
    const summary = JSON.parse(json.stdout.trim().split('\n').at(-1)!).summary;
    expect(summary.files[0]).toMatchObject({ format: 'sharegpt', kind: 'llava-next', by: 'detected', records: 6 });
  });

  it('validate checks decoded records with the rules of their trainers, pointing into the file as written', async () => {
    const swift = await file('swift.jsonl', [
      {
        messages: [
          { role: 'user', content: 'What?<image>' },
          { role: 'assistant', content: 'A cat.' },
        ],
        images: ['a.jpg'],
      },
      {
        messages: [
          { role: 'user', content: '<image>What?' },
          { role: 'assistant', content: 'A dog.' },
        ],
        images: [],
      },
      { messages: [{ role: 'user', content: [{ type: 'text', value: 'x' }] }] },
    ]);
    const result = await runCli(['validate', swift, '--from', 'swift', '--json']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // <image> at the end of a turn is fine for ms-swift (no image/placement); the count is not
    expect(lines.slice(0, -1).map((d) => [d.ruleId, d.recordIndex, d.pointer])).toEqual([
      ['image/token-text-only', 1, '/messages/0/content'],
      ['record/content-part', 2, '/messages/0/content'],
    ]);
  });

  it('validate of a video record asks for <video> against videos, never for one image', async () => {
    const next = await file('video.json', [
      {
        id: 'v',
        video: ['a.mp4', 'b.mp4'],
        conversations: [
          { from: 'human', value: '<video><video>Compare.' },
          { from: 'gpt', value: 'Same.' },
        ],
      },
      {
        id: 'w',
        video: 'c.mp4',
        conversations: [
          { from: 'human', value: '<video>What?' },
          { from: 'gpt', value: 'A goal.' },
        ],
      },
    ]);
    const result = await runCli(['validate', next]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('llava records, checked as llava-next (detected)');
  });

  it('--from offers every readable format and rejects others as a usage error', async () => {
    const help = await runCli(['validate', '--help']);
    for (const name of ['llava', 'sharegpt', 'openai', 'messages', 'swift', 'llava-qa', 'llava-next', 'metadata']) {
      expect(help.stdout).toContain(name);
    }
    const bad = await runCli(['validate', sample, '--from', 'nope']);
    expect(bad.code).toBe(2);
  });
});
