import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError, exitCodeOf } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBatchRun, parseOutputPaths, renderParseReport, serialiseRecords } from './parse-run.js';

const ok = (id: string, content: string) =>
  JSON.stringify({
    id: `r-${id}`,
    custom_id: id,
    response: { status_code: 200, body: { choices: [{ message: { content } }] } },
  });

describe('parseBatchRun (prompts parse as a library call)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-parse-run-'));
    await writeFile(
      join(dir, 'out.jsonl'),
      [
        ok('conversation:7', 'Question:\nWhat animal?\n===\nAnswer:\nA cat.'),
        ok('detail:7', 'A cat sleeps.'),
        ok('conversation:8', 'no separator here'),
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'errors.jsonl'),
      `${JSON.stringify({ custom_id: 'detail:8', response: { status_code: 500, body: {} } })}\n`,
    );
    const entries = ['conversation', 'detail'].flatMap((kind) =>
      ['7', '8'].map((id) => ({ custom_id: `${kind}:${id}`, kind, id, image: `coco/${id}.jpg` })),
    );
    await writeFile(join(dir, 'manifest.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('joins, parses and groups the records; problems are diagnostics', async () => {
    const run = await parseBatchRun({
      outputFile: join(dir, 'out.jsonl'),
      errorFile: join(dir, 'errors.jsonl'),
      manifestFile: join(dir, 'manifest.jsonl'),
      out: join(dir, 'data.json'),
    });
    expect(run).toMatchObject({
      results: 4,
      failed: 1,
      records: 2,
      rejected: 1,
      byKind: { conversation: 1, detail: 1 },
    });
    expect(run.files.map((f) => [f.path, f.records.length])).toEqual([[join(dir, 'data.json'), 2]]);
    expect(run.files[0]!.records[0]).toMatchObject({ id: '7', image: 'coco/7.jpg' });
    expect(run.diagnostics.map((d) => d.ruleId).sort()).toEqual(['prompts/no-separator', 'prompts/request-failed']);
    const lines = renderParseReport(run, run.diagnostics, ['data.json']);
    expect(lines.at(-1)).toBe(
      'Parsed 4 results: 2 records (conversation 1, detail 1), 1 malformed, 1 failed requests\n  written: data.json',
    );
  });

  it('writes one file per kind with byKind, and serialises JSON or JSON Lines by extension', async () => {
    const run = await parseBatchRun({ outputFile: join(dir, 'out.jsonl'), out: join(dir, 'kinds'), byKind: true });
    expect(run.files.map((f) => f.path)).toEqual([
      join(dir, 'kinds', 'conversation.json'),
      join(dir, 'kinds', 'detail_description.json'),
    ]);
    expect(parseOutputPaths('kinds', true)).toEqual([
      'kinds/conversation.json',
      'kinds/detail_description.json',
      'kinds/complex_reasoning.json',
    ]);
    const records = [{ id: '1', conversations: [] }];
    expect(serialiseRecords(records, 'a.jsonl')).toBe('{"id":"1","conversations":[]}\n');
    expect(serialiseRecords(records, 'a.json')).toBe(`${JSON.stringify(records, null, 2)}\n`);
    await expect(parseBatchRun({ outputFile: join(dir, 'nope.jsonl'), out: 'x.json' })).rejects.toThrow();
  });

  it.each([
    ['manifestFile', 'manifest', 'no-manifest.jsonl', 'it does not exist'],
    ['errorFile', 'error file', 'no-errors.jsonl', 'it does not exist'],
    ['outputFile', 'Batch output file', 'no-output.jsonl', 'it does not exist'],
    ['manifestFile', 'manifest', '.', 'it is a directory'],
  ] as const)('a missing %s rejects with prompts/missing-file naming it', async (key, what, name, reason) => {
    const path = join(dir, name);
    const options = { outputFile: join(dir, 'out.jsonl'), out: join(dir, 'x.json'), [key]: path };
    const error = await parseBatchRun(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(DiagnosticError.is(error)).toBe(true);
    const diagnostic = (error as DiagnosticError).diagnostic;
    expect(diagnostic).toMatchObject({ ruleId: 'prompts/missing-file', file: path, severity: 'error' });
    expect(diagnostic.message).toBe(`Cannot read the ${what} ${path}: ${reason}.`);
    expect(exitCodeOf(diagnostic)).toBe(1);
  });
});
