import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { createValidator } from '@llavakit/schema';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llavaRecordArbitrary } from '../../formats/__fixtures__/harness.js';
import { createBuiltinRegistry } from '../../formats/index.js';
import { validateFiles } from '../validate-files.js';
import { chooseValidation, readForValidation, sourcePointer } from '../validate-input.js';
import { workerScript } from './pool.js';

/**
 * `validateFiles` (element bytes in batches, plain records without parsing, in this thread or in workers) against
 * the record-by-record reference it replaced: `readForValidation` with `createValidator`. The same diagnostics, in
 * the same order, and the same record count, for generated files of records LLaVA files hold, records the rules
 * flag, duplicates, and elements that are no record.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llavakit-validate-batch-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const registry = createBuiltinRegistry();

async function reference(file: string): Promise<{ records: number; diagnostics: Diagnostic[] }> {
  let plan: Awaited<ReturnType<typeof chooseValidation>>;
  try {
    plan = await chooseValidation(file, { registry });
  } catch (error) {
    // no format fits the records (e.g. the first is `{}`): a data error of the file, nothing read
    if (!DiagnosticError.is(error)) throw error;
    return { records: 0, diagnostics: [error.diagnostic] };
  }
  const validator = createValidator({ file, kind: plan.kind, ignore: plan.ignore });
  const diagnostics: Diagnostic[] = [];
  let records = 0;
  try {
    for await (const item of readForValidation(file, plan, { file })) {
      records++;
      if (!item.ok) {
        diagnostics.push(...item.diagnostics);
        continue;
      }
      for (const d of validator.check(item.value, item.place, item.text)) {
        const pointer = plan.decode && d.pointer !== undefined ? sourcePointer(d.pointer, item.raw) : d.pointer;
        diagnostics.push(pointer === d.pointer ? d : { ...d, ...(pointer !== undefined ? { pointer } : {}) });
      }
    }
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    diagnostics.push(error.diagnostic);
  }
  diagnostics.push(...validator.finish());
  return { records, diagnostics };
}

async function batched(file: string, workers: number) {
  const diagnostics: Diagnostic[] = [];
  const notes: string[] = [];
  const { summary } = await validateFiles({
    inputs: [file],
    registry,
    workers,
    onDiagnostic: (d) => {
      diagnostics.push(d);
    },
    onNote: (note) => notes.push(note),
  });
  expect(notes).toEqual([]);
  return { records: summary.records, diagnostics };
}

/** A record as LLaVA files hold it, for the plain path to take. */
const plainRecord = fc
  .record({
    id: fc.oneof(fc.stringMatching(/^[0-9]{6}$/), fc.integer({ min: 0, max: 99 })),
    image: fc.option(fc.constantFrom('coco/train2017/1.jpg', 'gqa/images/2.jpg', '3.jpg', '/abs/4.jpg'), {
      nil: undefined,
    }),
    q: fc.stringMatching(/^[A-Za-z][A-Za-z ?]{0,12}[a-z?]$/),
    a: fc.stringMatching(/^[A-Za-z][A-Za-z .]{0,12}[a-z.]$/),
    // (characters of two, three and four UTF-8 bytes: columns count UTF-16 units)
    wide: fc.constantFrom('', ' café', ' 日本', ' 🙂 ok'),
  })
  .map(({ id, image, q, a, wide }) => ({
    id,
    ...(image ? { image } : {}),
    conversations: [
      { from: 'human', value: image ? `<image>\n${q}${wide}` : `${q}${wide}` },
      { from: 'gpt', value: a },
    ],
  }));

const element = fc.oneof(
  { weight: 4, arbitrary: plainRecord.map((r) => JSON.stringify(r, null, 2)) },
  { weight: 2, arbitrary: plainRecord.map((r) => JSON.stringify(r)) },
  { weight: 3, arbitrary: llavaRecordArbitrary.map((r) => JSON.stringify(r, null, 2)) },
  { weight: 1, arbitrary: fc.constantFrom('{"id": "broken", "conversations": [,]}', '42', '"a string"', '{}', '[]') },
);

describe('validateFiles reads element bytes in batches and finds what the record-by-record reference finds', () => {
  let cases = 0;
  it('any records, as a JSON array or JSON Lines, in one thread and in two workers (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(element, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        fc.constantFrom(',\n', ', ', ','),
        async (texts, jsonl, separator) => {
          const file = join(dir, `case-${cases++}.${jsonl ? 'jsonl' : 'json'}`);
          // (records that start on the line where the one before ends: their columns follow from its bytes)
          const body = jsonl
            ? `${texts.map((t) => (t.includes('\n') ? JSON.stringify(JSON.parse(t)) : t)).join('\n')}\n`
            : `[\n${texts.join(separator)}\n]\n`;
          await writeFile(file, body);
          const expected = await reference(file);
          expect(await batched(file, 1)).toEqual(expected);
          // (workers start in ~0.1 s: every fourth case)
          if (cases % 4 === 0 && workerScript('validate-worker')) expect(await batched(file, 2)).toEqual(expected);
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);

  it('a file of several read chunks (records across chunk ends, one larger than a chunk), in one thread and two workers', async () => {
    // Files are read 1 MiB at a time: the elements inside a chunk go into a batch in one copy, the others alone.
    const sample = fc.sample(element, { numRuns: 400, seed: 11 });
    const texts: string[] = [];
    let size = 0;
    for (let i = 0; size < 2.5 * 1024 * 1024; i++) {
      texts.push(sample[i % sample.length]!);
      size += texts.at(-1)!.length + 2;
      if (i === 700) {
        const value = 'y'.repeat(1.2 * 1024 * 1024);
        texts.push(
          JSON.stringify({
            id: 'long',
            conversations: [
              { from: 'human', value: 'Q' },
              { from: 'gpt', value },
            ],
          }),
        );
      }
    }
    const file = join(dir, 'chunks.json');
    await writeFile(file, `[\n${texts.join(',\n')}\n]\n`);
    const expected = await reference(file);
    expect(expected.records).toBe(texts.length);
    expect(await batched(file, 1)).toEqual(expected);
    if (workerScript('validate-worker')) expect(await batched(file, 2)).toEqual(expected);
  }, 60_000);

  it('a cut-off file: the records before the cut, then the fatal error', async () => {
    const texts = fc.sample(plainRecord, { numRuns: 30, seed: 7 }).map((r) => JSON.stringify(r, null, 2));
    const file = join(dir, 'cut.json');
    await writeFile(file, `[\n${texts.join(',\n')}`.slice(0, 1500));
    const expected = await reference(file);
    expect(expected.diagnostics.some((d) => d.ruleId.startsWith('json/'))).toBe(true);
    expect(await batched(file, 1)).toEqual(expected);
  });
});
