import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { diagnose } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { convert } from './convert.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-convert-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const good = (id: string | number, value = '<image>\nQ?') => ({
  id,
  image: `${id}.jpg`,
  conversations: [
    { from: 'human', value },
    { from: 'gpt', value: 'A.' },
  ],
});

async function writeJson(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value, null, 2));
  return path;
}

describe('convert', () => {
  it('concatenates several inputs into one output and counts per input', async () => {
    const a = await writeJson('a.json', [good('1'), good(2)]);
    const b = join(dir, 'b.jsonl');
    await writeFile(b, `${JSON.stringify(good('3'))}\n`);
    const output = join(dir, 'out.jsonl');
    const summary = await convert({ inputs: [a, b], to: 'sharegpt', output, registry: createBuiltinRegistry() });
    expect(summary).toMatchObject({ read: 3, written: 3, rejected: 0, failed: false, from: ['llava', 'llava'] });
    expect(summary.inputs.map((i) => [i.read, i.written])).toEqual([
      [2, 2],
      [1, 1],
    ]);
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['1', '2', '3']);
  });

  it('rejects records that fail the check hook, and keeps warnings as notes', async () => {
    const input = await writeJson('in.json', [good('1'), good('2'), good('3')]);
    const notes: string[] = [];
    const rule = { id: 'test/rule', severity: 'error', title: 't', hint: 'h' } as const;
    const summary = await convert({
      inputs: [input],
      to: 'llava',
      output: join(dir, 'out.json'),
      registry: createBuiltinRegistry(),
      rejects: join(dir, 'rejects.jsonl'),
      check: ({ record, index }) =>
        record.id === '2'
          ? [diagnose(rule, { message: 'no twos', recordIndex: index })]
          : [diagnose(rule, { message: 'just a note', severity: 'warning' })],
      onDiagnostic: (d) => notes.push(d.message),
    });
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: 1, rejectedByRule: { 'test/rule': 1 } });
    expect(notes).toEqual(['just a note', 'just a note']);
    const rejects = (await readFile(join(dir, 'rejects.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejects).toEqual([
      { file: input, index: 1, diagnostics: [expect.objectContaining({ message: 'no twos' })], record: good('2') },
    ]);
  });

  it('keeps unparseable elements as raw text in the rejects file', async () => {
    const input = join(dir, 'in.json');
    await writeFile(input, '[{"id": "a", "conversations": [],}, {"id": "b", "conversations": []}]');
    const summary = await convert({
      inputs: [input],
      to: 'llava',
      output: join(dir, 'out.json'),
      registry: createBuiltinRegistry(),
      rejects: join(dir, 'rejects.jsonl'),
    });
    expect(summary).toMatchObject({ read: 2, written: 1, rejected: 1 });
    const [reject] = (await readFile(join(dir, 'rejects.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(reject.text).toBe('{"id": "a", "conversations": [],}');
    expect(reject.diagnostics[0].ruleId).toBe('json/syntax');
  });

  it('with onInvalid fail, stops, writes no output and returns the fatal diagnostic', async () => {
    const input = await writeJson('in.json', [good('1'), { id: 'bad', conversations: 3 }, good('3')]);
    const output = join(dir, 'out.json');
    const summary = await convert({
      inputs: [input],
      to: 'sharegpt',
      output,
      onInvalid: 'fail',
      registry: createBuiltinRegistry(),
    });
    expect(summary.failed).toBe(true);
    expect(summary.fatal).toMatchObject({ ruleId: 'record/schema', recordIndex: 1, recordId: 'bad' });
    expect(await readdir(dir)).toEqual(['in.json']);
  });

  it('turns a fatal reader error into a failed summary and removes the partial output', async () => {
    const input = join(dir, 'cut.json');
    await writeFile(input, `[${JSON.stringify(good('1'))}, {"id": "2", "conv`);
    const summary = await convert({
      inputs: [input],
      to: 'sharegpt',
      output: join(dir, 'o.json'),
      registry: createBuiltinRegistry(),
    });
    expect(summary.failed).toBe(true);
    expect(summary.fatal?.place?.line).toBe(1);
    expect(await readdir(dir)).toEqual(['cut.json']);
  });

  it('reads standard input from a stream and detects nothing for it (defaults to llava)', async () => {
    const output = join(dir, 'o.json');
    const summary = await convert({
      inputs: ['-'],
      to: 'sharegpt',
      output,
      registry: createBuiltinRegistry(),
      stdin: Readable.from([Buffer.from(JSON.stringify([good(7)]))]),
    });
    expect(summary).toMatchObject({ read: 1, written: 1 });
    expect(JSON.parse(await readFile(output, 'utf8'))[0].images).toEqual(['7.jpg']);
  });

  it('drives stream-level formats through accept/reject with the same accounting', async () => {
    const registry = createBuiltinRegistry();
    const seen: string[] = [];
    registry.add(
      defineFormat({
        specVersion: 1,
        name: 'count-only',
        async write(records, context) {
          for await (const source of records) {
            if (source.index === 0)
              context.reject(source, [
                diagnose({ id: 'x/y', severity: 'error', title: '', hint: '' }, { message: 'nope' }),
              ]);
            else {
              seen.push(String(source.record.id));
              context.accept(source);
            }
          }
        },
      }),
      { plugin: 'test', via: 'specifier' },
    );
    const input = await writeJson('in.json', [good('1'), good('2'), good('3')]);
    const summary = await convert({ inputs: [input], to: 'count-only', output: join(dir, 'x'), registry });
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: 1 });
    expect(seen).toEqual(['2', '3']);
  });

  it('rejects unknown target formats with a diagnostic error', async () => {
    await expect(
      convert({ inputs: [], to: 'nope', output: '-', registry: createBuiltinRegistry() }),
    ).rejects.toMatchObject({ diagnostic: { ruleId: 'format/unknown' } });
  });
});
