import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeOf } from '@llavakit/diagnostics';
import type { SourceRecord } from '@llavakit/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { openImageAccess } from './image-access.js';
import { runConvert } from './run-convert.js';
import { planShardRun } from './shard-plan.js';
import { unknownValidationSource, validateFiles } from './validate-files.js';

// What `llava convert` and `llava validate` do, tested as library calls (no CLI process).
const sampleDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/sample');
const sample = join(sampleDir, 'llava_sample.json');
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-run-convert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const registry = createBuiltinRegistry();

describe('runConvert', () => {
  it('converts, writes the dataset_info.json entry with the -O layout (parsed once), exit 0', async () => {
    const output = join(dir, 'a', 'train.json');
    const datasetInfo = join(dir, 'a', 'dataset_info.json');
    const run = await runConvert({
      inputs: [sample],
      to: 'sharegpt',
      output,
      registry,
      datasetInfo,
      optionArguments: ['layout=messages'],
    });
    expect(run.status).toBe('converted');
    if (run.status !== 'converted') return;
    expect(run.exitCode).toBe(0);
    expect(run.summary.read).toBe(run.summary.written + run.summary.rejected);
    expect(run.datasetInfo?.created).toBe(true);
    const info = JSON.parse(await readFile(datasetInfo, 'utf8'));
    expect(info.train.file_name).toBe('train.json');
    expect(info.train.columns.messages).toBe('messages');
    expect(JSON.parse(await readFile(output, 'utf8'))[0].messages).toBeDefined();
  });

  it('refuses --dataset-info for another target as a usage error (exit 2) before writing anything', async () => {
    const output = join(dir, 'b.jsonl');
    const run = await runConvert({
      inputs: [sample],
      to: 'openai',
      output,
      registry,
      datasetInfo: join(dir, 'b-info.json'),
    });
    expect(run).toMatchObject({ status: 'refused', exitCode: 2 });
    if (run.status === 'refused') expect(run.diagnostic.ruleId).toMatch(/^dataset-info\//);
    expect(existsSync(output)).toBe(false);
  });

  it('--missing-images drop without image sources is a usage error', async () => {
    const run = await runConvert({
      inputs: [sample],
      to: 'llava',
      output: join(dir, 'c.json'),
      registry,
      images: { missingImages: 'drop' },
    });
    expect(run).toMatchObject({ status: 'refused', exitCode: 2 });
  });

  it('--missing-images drop rejects the records whose image is in no source (read = written + rejected)', async () => {
    const images = join(dir, 'some-images');
    await mkdir(images, { recursive: true });
    await writeFile(join(images, '000000100001.jpg'), await readFile(join(sampleDir, 'images', '000000100001.jpg')));
    const rejects = join(dir, 'd.rejects.jsonl');
    const run = await runConvert({
      inputs: [sample],
      to: 'sharegpt',
      output: join(dir, 'd.json'),
      registry,
      images: { sources: [images], missingImages: 'drop' },
      rejects,
    });
    if (run.status !== 'converted') throw new Error(run.status);
    expect(run.summary.rejected).toBe(4);
    expect(run.summary.rejectedByRule['images/missing']).toBe(4);
    expect(run.summary.counts['images:found']).toBe(1);
    const lines = (await readFile(rejects, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!).diagnostics[0].place).toBeDefined();
  });

  it('an unknown input format name is a usage error; an input no format reads is a data error', async () => {
    const unknown = await runConvert({ inputs: [sample], from: 'nope', to: 'llava', output: '-', registry });
    expect(unknown).toMatchObject({ status: 'refused', exitCode: 2 });
    const odd = join(dir, 'odd.json');
    await writeFile(odd, '[{"a": 1}, {"b": 2}]');
    const data = await runConvert({ inputs: [odd], to: 'llava', output: join(dir, 'odd.out.json'), registry });
    // (found once reading starts: the run stops with it as its fatal diagnostic, and writes nothing)
    expect(data).toMatchObject({
      status: 'converted',
      exitCode: 1,
      summary: { fatal: { ruleId: 'format/ambiguous' } },
    });
    expect(existsSync(join(dir, 'odd.out.json'))).toBe(false);
  });

  it('a shard that finished is skipped on a rerun', async () => {
    const options = {
      inputs: [sample],
      to: 'messages',
      output: join(dir, 'e', 'part-{shard}-of-{shards}.jsonl'),
      registry,
      shard: '1/2',
    };
    const first = await runConvert(options);
    expect(first).toMatchObject({ status: 'converted', exitCode: 0 });
    if (first.status === 'converted') expect(first.summary.read).toBe(3);
    const second = await runConvert(options);
    expect(second).toMatchObject({ status: 'skipped', shard: '1/2' });
  });
});

describe('planShardRun', () => {
  it('selects the records of one file by index, and expands the output and other names', async () => {
    const plan = await planShardRun([sample], '0/3', { path: 'out-{shard}.jsonl' }, ['rejects-{shard}.jsonl']);
    expect(plan.output).toBe('out-00000.jsonl');
    expect(plan.other('rejects-{shard}.jsonl')).toBe('rejects-00000.jsonl');
    expect([0, 1, 2, 3].map((i) => plan.keepRecord?.(i))).toEqual([true, false, false, true]);
  });

  it('refuses an output without {shard}', async () => {
    await expect(planShardRun([sample], '0/3', { path: 'out.jsonl' })).rejects.toMatchObject({
      diagnostic: { ruleId: 'usage/shard-output' },
    });
  });
});

describe('openImageAccess', () => {
  const source = (image: string, index: number): SourceRecord => ({
    record: { id: String(index), image, conversations: [{ from: 'human', value: '<image>' }] },
    index,
    file: 'x.json',
  });

  it('the check resolves a record and leaves its output paths for the encoder of that record only', async () => {
    const access = await openImageAccess({
      sources: [join(sampleDir, 'images')],
      imagePaths: 'absolute',
      output: join(dir, 'out.json'),
    });
    try {
      expect(await access.check?.(source('000000100002.jpg', 0))).toEqual([]);
      expect(access.images.rewrite('000000100002.jpg')).toBe(join(sampleDir, 'images', '000000100002.jpg'));
      // the next record's check clears the previous one's paths
      const found = await access.check?.(source('missing.jpg', 1));
      expect(found?.map((d) => [d.ruleId, d.severity, d.pointer])).toEqual([['images/missing', 'warning', '/image']]);
      expect(access.images.rewrite('000000100002.jpg')).toBe('000000100002.jpg');
      expect(access.counts).toEqual({ 'images:found': 1, 'images:missing': 1 });
    } finally {
      await access.close();
    }
  });

  it('--missing-images fail throws the located diagnostic', async () => {
    const access = await openImageAccess({ sources: [join(sampleDir, 'images')], missingImages: 'fail' });
    await expect(access.check?.(source('missing.jpg', 4))).rejects.toMatchObject({
      diagnostic: { ruleId: 'images/missing', severity: 'error', recordIndex: 4, file: 'x.json' },
    });
    await access.close();
  });

  it('inconsistent flags are usage errors', async () => {
    await expect(openImageAccess({ imagePaths: 'relative' })).rejects.toMatchObject({
      diagnostic: { ruleId: 'usage/images' },
    });
    await expect(openImageAccess({ imageRoot: '/data', imagePaths: 'absolute' })).rejects.toMatchObject({
      diagnostic: { ruleId: 'usage/images' },
    });
  });
});

describe('validateFiles', () => {
  it('checks every record, tallies per rule, and reports a file whose reading stopped', async () => {
    const cut = join(dir, 'cut.json');
    await writeFile(cut, '[{"id": "1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value"');
    const seen: string[] = [];
    const result = await validateFiles({
      inputs: [sample, cut],
      registry,
      onDiagnostic: (d) => {
        seen.push(d.ruleId);
      },
    });
    expect(result.summary.files[0]).toMatchObject({ file: sample, records: 6, error: 0, format: 'llava' });
    expect(result.summary.files[1]?.stopped).toBeDefined();
    expect(result.summary.failed).toBe(true);
    expect(Object.values(result.summary.byRule).reduce((a, b) => a + b, 0)).toBe(seen.length);
  });

  it('names the choices for an unknown --from', () => {
    expect(unknownValidationSource(registry, 'llava')).toBeUndefined();
    expect(unknownValidationSource(registry, 'metadata')).toBeUndefined();
    expect(unknownValidationSource(registry, 'nope')).toMatch(/^Unknown --from nope: use one of llava, sharegpt/);
  });
});

describe('exit codes of refused runs', () => {
  it('come from the rules: options, formats named and dataset_info are usage errors, undetectable input is data', () => {
    const d = (ruleId: string) => ({ ruleId, severity: 'error' as const, message: '' });
    expect(exitCodeOf(d('options/unknown'))).toBe(2);
    expect(exitCodeOf(d('format/unknown'))).toBe(2);
    expect(exitCodeOf(d('usage/shard'))).toBe(2);
    expect(exitCodeOf(d('dataset-info/unsupported'))).toBe(2);
    expect(exitCodeOf(d('format/ambiguous'))).toBe(1);
    expect(exitCodeOf(d('input/metadata-file'))).toBe(1);
  });
});

describe('--workers (runConvert, validateFiles)', () => {
  const record = (i: number) => ({
    id: i === 40 ? 'r3' : `r${i}`,
    image: `coco/${i}.jpg`,
    conversations:
      i === 7
        ? [{ from: 'narrator', value: 'x' }]
        : [
            { from: 'human', value: `<image>\nWhat is in picture ${i}?` },
            { from: 'gpt', value: `Picture ${i}.` },
          ],
  });
  const write = async (name: string) => {
    const path = join(dir, name);
    const texts = Array.from({ length: 600 }, (_, i) => JSON.stringify(record(i), null, 2));
    texts.splice(100, 0, '{"id": "broken", "conversations": [,]}');
    await writeFile(path, `[\n${texts.join(',\n')}\n]\n`);
    return path;
  };

  it('runConvert: workers 2 writes the bytes, rejects and summary of workers 1, with no note', async () => {
    const input = await write('workers-in.json');
    const seen: { output: string; rejects: string; summary: unknown }[] = [];
    const notes: string[] = [];
    for (const workers of [1, 2]) {
      const output = join(dir, `workers-${workers}.jsonl`);
      const rejects = join(dir, `workers-${workers}.rejects.jsonl`);
      const run = await runConvert({
        inputs: [input],
        to: 'sharegpt',
        output,
        rejects,
        registry,
        validate: true,
        workers,
        onNote: (m) => notes.push(m),
      });
      expect(run.status).toBe('converted');
      if (run.status !== 'converted') return;
      const { durationMs: _d, output: _o, ...summary } = run.summary;
      seen.push({ output: await readFile(output, 'utf8'), rejects: await readFile(rejects, 'utf8'), summary });
    }
    // (no note: the two workers converted the file; a fall-back to one thread says why)
    expect(notes).toEqual([]);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]!.summary).toMatchObject({ read: 601, rejected: 2 });
  });

  it('runConvert: workers asked for but image work needs this thread: one note, the same output', async () => {
    const input = await write('workers-images.json');
    const notes: string[] = [];
    const run = await runConvert({
      inputs: [input],
      to: 'sharegpt',
      output: join(dir, 'workers-images.json.out.json'),
      registry,
      images: { sources: [sampleDir] },
      workers: 2,
      onNote: (m) => notes.push(m),
    });
    expect(run.status).toBe('converted');
    expect(notes).toEqual([
      'note: --workers 2: converting in one thread (image checks, rewriting or embedding run in this thread).',
    ]);
  });

  it('validateFiles: workers 2 reports the diagnostics of workers 1, in order, and the same summary', async () => {
    const input = await write('workers-validate.json');
    const runs: { diagnostics: unknown[]; summary: unknown }[] = [];
    const notes: string[] = [];
    for (const workers of [undefined, 1, 2]) {
      const diagnostics: unknown[] = [];
      const result = await validateFiles({
        inputs: [input],
        registry,
        ...(workers ? { workers } : {}),
        onNote: (m) => notes.push(m),
        onDiagnostic: (d) => {
          diagnostics.push(d);
        },
      });
      runs.push({ diagnostics, summary: result.summary });
    }
    expect(notes).toEqual([]);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    const rules = (runs[0]!.diagnostics as { ruleId: string }[]).map((d) => d.ruleId);
    expect(rules).toContain('id/duplicate');
    expect(rules).toContain('json/syntax');
  });
});
