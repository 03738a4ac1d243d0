import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetInfoEntry, writeDatasetInfo } from './dataset-info.js';

describe('dataset_info.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llavakit-dsinfo-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('makes the entry LLaMA-Factory needs, keyed by the output stem, file_name relative to the file', () => {
    const { name, entry } = datasetInfoEntry({
      datasetInfo: '/d/data/dataset_info.json',
      output: '/d/data/sub/llava.jsonl',
    });
    expect(name).toBe('llava');
    expect(entry).toMatchObject({
      file_name: 'sub/llava.jsonl',
      formatting: 'sharegpt',
      columns: { messages: 'conversations', images: 'images', system: 'system' },
      tags: { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' },
    });
    const chat = datasetInfoEntry({ datasetInfo: 'x/dataset_info.json', output: 'x/m.json', layout: 'messages' });
    expect(chat.entry.columns.messages).toBe('messages');
    expect(chat.entry.tags).toMatchObject({ role_tag: 'role', content_tag: 'content', user_tag: 'user' });
  });

  it('creates the file, then merges: other datasets and extra fields of the entry are kept', async () => {
    const info = join(dir, 'dataset_info.json');
    const first = await writeDatasetInfo({ datasetInfo: info, output: join(dir, 'out.json') });
    expect(first.created).toBe(true);
    const written = JSON.parse(await readFile(info, 'utf8'));
    expect(Object.keys(written)).toEqual(['out']);
    written.other = { file_name: 'o.json' };
    written.out.ranking = false;
    written.out.columns.videos = 'videos';
    await writeFile(info, JSON.stringify(written));
    const second = await writeDatasetInfo({ datasetInfo: info, output: join(dir, 'out.json'), layout: 'messages' });
    expect(second.created).toBe(false);
    const merged = JSON.parse(await readFile(info, 'utf8'));
    expect(merged.other).toEqual({ file_name: 'o.json' });
    expect(merged.out).toMatchObject({
      file_name: 'out.json',
      ranking: false,
      columns: { messages: 'messages', videos: 'videos' },
    });
  });

  it('refuses to merge into a file that is not a JSON object, with a diagnostic, leaving it untouched', async () => {
    const info = join(dir, 'broken.json');
    await writeFile(info, '[1, 2');
    const error = await writeDatasetInfo({ datasetInfo: info, output: join(dir, 'a.json') }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error)).toBe(true);
    expect((error as DiagnosticError).diagnostic.ruleId).toBe('dataset-info/invalid');
    expect(await readFile(info, 'utf8')).toBe('[1, 2');
  });
});
