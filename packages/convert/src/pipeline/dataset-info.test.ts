import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LfEntry, lfLoad } from '../formats/__fixtures__/loaders.js';
import { createBuiltinRegistry } from '../formats/index.js';
import { convert } from './convert.js';
import { datasetInfoEntry, writeDatasetInfo } from './dataset-info.js';

const H = (value: string) => ({ from: 'human', value });
const G = (value: string) => ({ from: 'gpt', value });

describe('dataset_info.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llavakit-dsinfo-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Convert records to sharegpt, write the entry, and load both with LLaMA-Factory's aligner rules. */
  async function convertAndLoad(name: string, records: unknown[], layout?: 'messages') {
    const input = join(dir, `${name}.in.json`);
    await writeFile(input, JSON.stringify(records));
    const output = join(dir, 'data', `${name}.json`);
    const summary = await convert({
      inputs: [input],
      to: 'sharegpt',
      output,
      registry: createBuiltinRegistry(),
      ...(layout ? { formatOptions: { layout } } : {}),
    });
    expect(summary).toMatchObject({ failed: false, rejected: 0 });
    const info = join(dir, 'data', 'dataset_info.json');
    await writeDatasetInfo({ datasetInfo: info, output, ...(layout ? { layout } : {}) });
    const entry = JSON.parse(await readFile(info, 'utf8'))[name] as LfEntry;
    const written = JSON.parse(await readFile(output, 'utf8')) as unknown[];
    return { entry, written, loaded: lfLoad(entry, written) };
  }

  it('declares only the columns the written file has: no images for text-only, no system without a prompt', async () => {
    const text = await convertAndLoad('text', [{ id: 'a', conversations: [H('Hi'), G('Hello')] }]);
    expect(text.entry).toEqual({
      file_name: 'text.json',
      formatting: 'sharegpt',
      columns: { messages: 'conversations' },
      tags: {
        role_tag: 'from',
        content_tag: 'value',
        user_tag: 'human',
        assistant_tag: 'gpt',
        observation_tag: 'observation',
        function_tag: 'function_call',
        system_tag: 'system',
      },
    });
    expect(text.loaded.problems).toEqual([]);
    const images = await convertAndLoad('images', [
      { id: 'b', image: 'b.jpg', conversations: [H('<image>\nWhat?'), G('A cat.')] },
      { id: 'c', system: 'Be brief.', conversations: [H('Hi'), G('Hello')] },
    ]);
    expect(images.entry.columns).toEqual({ messages: 'conversations', images: 'images', system: 'system' });
    expect(images.loaded.problems).toEqual([]);
    expect(images.loaded.examples.map((e) => [e.system, e.images])).toEqual([
      ['', ['b.jpg']],
      ['Be brief.', null],
    ]);
  });

  it('declares videos for a video file, with the messages layout tags, and LLaMA-Factory counts them', async () => {
    const video = await convertAndLoad(
      'video',
      [
        { id: 'v', video: 'clips/a.mp4', conversations: [H('<video>Why is this funny?'), G('A baby reads.')] },
        // LLaVA-Video writes <image> for the video: written as <video>
        { id: 'w', video: 'clips/b.mp4', conversations: [H('<image>\nWhat happens?'), G('A goal.')] },
        {
          id: 'x',
          image: 'x.jpg',
          video: ['c.mp4', 'd.mp4'],
          conversations: [H('<image><video><video>All?'), G('Yes.')],
        },
      ],
      'messages',
    );
    expect(video.entry.columns).toEqual({ messages: 'messages', images: 'images', videos: 'videos' });
    expect(video.entry.tags).toMatchObject({ role_tag: 'role', content_tag: 'content', user_tag: 'user' });
    expect(video.loaded.problems).toEqual([]);
    expect(video.loaded.examples.map((e) => e.videos)).toEqual([['clips/a.mp4'], ['clips/b.mp4'], ['c.mp4', 'd.mp4']]);
    expect(video.loaded.examples[1]!.prompt[0]!.content).toBe('<video>\nWhat happens?');
  });

  it('the aligner rules fail where LLaMA-Factory fails (the check is not vacuous)', () => {
    const records = [{ conversations: [H('<image>Q'), G('A')], images: ['a.jpg'] }];
    const entry = datasetInfoEntry({
      datasetInfo: 'd/dataset_info.json',
      output: 'd/x.json',
      columns: { images: true, videos: false, system: true },
    }).entry;
    expect(lfLoad(entry, records).problems).toEqual([
      'KeyError: column "system" is declared in dataset_info.json but no record has it',
    ]);
    const noImages = { ...entry, columns: { messages: 'conversations' } };
    expect(lfLoad(noImages, records).problems).toEqual([
      'record 0: ValueError: The number of images does not match the number of placeholders (0 vs 1)',
    ]);
    expect(lfLoad(noImages, [{ conversations: [G('A'), H('Q')] }]).problems[0]).toMatch(/Invalid role tag/);
    expect(lfLoad(noImages, [{ conversations: [H('Q')] }]).problems[0]).toMatch(/Invalid message count/);
    expect(
      lfLoad(noImages, [
        { id: 1, conversations: [] },
        { id: 'a', conversations: [] },
      ]).problems,
    ).toEqual(['arrow: .id mixes number and string']);
  });

  it('replaces the columns and tags of an existing entry, keeping other datasets and extra fields', async () => {
    const info = join(dir, 'merge', 'dataset_info.json');
    const output = join(dir, 'merge', 'out.json');
    await convert({
      inputs: [await writeInput('m.json', [{ id: 'a', conversations: [H('Hi'), G('Hello')] }])],
      to: 'sharegpt',
      output,
      registry: createBuiltinRegistry(),
    });
    const first = await writeDatasetInfo({ datasetInfo: info, output });
    expect(first.created).toBe(true);
    const written = JSON.parse(await readFile(info, 'utf8'));
    expect(Object.keys(written)).toEqual(['out']);
    written.other = { file_name: 'o.json' };
    written.out.ranking = false;
    written.out.columns.system = 'system';
    await writeFile(info, JSON.stringify(written));
    const second = await writeDatasetInfo({ datasetInfo: info, output });
    expect(second.created).toBe(false);
    const merged = JSON.parse(await readFile(info, 'utf8'));
    expect(merged.other).toEqual({ file_name: 'o.json' });
    expect(merged.out).toMatchObject({ file_name: 'out.json', ranking: false, columns: { messages: 'conversations' } });
    expect(merged.out.columns).not.toHaveProperty('system');
  });

  async function writeInput(name: string, records: unknown[]) {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(records));
    return path;
  }

  it('refuses to merge into a file that is not a JSON object, with a diagnostic, leaving it untouched', async () => {
    const info = join(dir, 'broken.json');
    await writeFile(info, '[1, 2');
    const error = await writeDatasetInfo({ datasetInfo: info, output: join(dir, 'a.json') }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error)).toBe(true);
    expect((error as DiagnosticError).diagnostic.ruleId).toBe('dataset-info/invalid');
    expect(await readFile(info, 'utf8')).toBe('[1, 2');
  });
});
