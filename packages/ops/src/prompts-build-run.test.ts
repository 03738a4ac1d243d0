import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PromptFolderError } from '@llavakit/prompts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPromptsBuild } from './prompts-build-run.js';
import { tempDir } from './test-helpers.js';

describe('runPromptsBuild (llava prompts build as one library call)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let prompts: string;
  let caps: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    prompts = join(dir, 'prompts');
    const detail = join(prompts, 'detail_description');
    await mkdir(detail, { recursive: true });
    await writeFile(join(detail, 'system_message.txt'), 'Describe the image in detail.');
    await writeFile(join(detail, '000_caps.txt'), 'A cat on a sill.');
    await writeFile(join(detail, '000_conv.txt'), 'A grey cat sleeps on a sunny sill.');
    caps = join(dir, 'caps.jsonl');
    const line = (id: number) =>
      JSON.stringify({ id: String(id), image: `${id}.jpg`, captions: [`Picture ${id}.`], instances: [] });
    await writeFile(caps, `${[1, 2, 3].map(line).join('\n')}\nnot json\n`);
  });
  afterAll(() => cleanup());

  it('writes batch files of at most maxRequests lines and the manifest; bad input lines are diagnostics', async () => {
    const outDir = join(dir, 'req');
    const summary = await runPromptsBuild({
      prompts,
      capsBoxes: caps,
      model: 'm',
      temperature: 0.2,
      maxTokens: 9,
      outDir,
      maxRequests: 2,
    });
    expect(summary).toMatchObject({
      kinds: ['detail'],
      images: 3,
      requests: 3,
      manifest: join(outDir, 'manifest.jsonl'),
    });
    expect(summary.files.map((f) => [f.path, f.requests])).toEqual([
      [join(outDir, 'batch-0001.jsonl'), 2],
      [join(outDir, 'batch-0002.jsonl'), 1],
    ]);
    expect(summary.endpoint).toBeUndefined();
    expect(summary.diagnostics.map((d) => d.ruleId)).toEqual(['prompts/bad-line']);
    const first = JSON.parse((await readFile(summary.files[0]!.path, 'utf8')).split('\n')[0]!);
    expect(first).toMatchObject({ custom_id: 'detail:1', body: { model: 'm', temperature: 0.2, max_tokens: 9 } });
    const manifest = (await readFile(summary.manifest, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(manifest.map((m) => m.custom_id)).toEqual(['detail:1', 'detail:2', 'detail:3']);
  });

  it('a folder that cannot be written is output/write-failed, and no manifest is written', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'a file where the folder should be');
    const outDir = join(blocker, 'req');
    const summary = await runPromptsBuild({ prompts, capsBoxes: caps, model: 'm', outDir });
    expect(summary.diagnostics.map((d) => d.ruleId)).toContain('output/write-failed');
    expect(summary.files).toEqual([]);
    expect(existsSync(join(outDir, 'manifest.jsonl'))).toBe(false);
    // the endpoint path reports the output folder the same way, without sending anything
    const viaEndpoint = await runPromptsBuild({
      prompts,
      capsBoxes: caps,
      model: 'm',
      outDir,
      endpoint: { baseUrl: 'http://127.0.0.1:9/v1', retries: 0 },
    });
    const failure = viaEndpoint.diagnostics.find((d) => d.ruleId === 'output/write-failed');
    expect(failure?.message).toMatch(/^Cannot write the output folder /);
    expect(viaEndpoint.endpoint).toBeUndefined();
  });

  it('a missing or broken prompt folder rejects', async () => {
    await expect(
      runPromptsBuild({ prompts: join(dir, 'none'), capsBoxes: caps, model: 'm', outDir: dir }),
    ).rejects.toThrow('Prompt folder not found');
    const broken = join(dir, 'broken', 'conversation');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'system_message.txt'), 'x');
    await writeFile(join(broken, '000_caps.txt'), 'caps without its conv');
    await expect(runPromptsBuild({ prompts: broken, capsBoxes: caps, model: 'm', outDir: dir })).rejects.toBeInstanceOf(
      PromptFolderError,
    );
  });
});
