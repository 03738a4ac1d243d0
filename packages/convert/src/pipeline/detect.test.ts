import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { defineFormat } from '@llavakit/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { chooseInputFormat, convert } from './convert.js';

/**
 * One folder per case under __fixtures__/detect: the input (any one file), `expected.txt` (the format chosen and
 * every format's score, or for `_errors_/` the rendered diagnostic) and `expected.json` (the canonical records read,
 * as `convert --to llava` writes them). Run with UPDATE_FIXTURES=1 to rewrite the expected files.
 */
const root = fileURLToPath(new URL('./__fixtures__/detect/', import.meta.url));
const update = process.env.UPDATE_FIXTURES === '1';

const dirs = (path: string) =>
  readdirSync(path)
    .filter((name) => statSync(join(path, name)).isDirectory() && name !== '_errors_')
    .sort();
const inputOf = (folder: string) => {
  const name = readdirSync(folder).find((f) => !f.startsWith('expected.'));
  if (!name) throw new Error(`no input in ${folder}`);
  return join(folder, name);
};

function check(path: string, actual: string) {
  if (update || !existsSync(path)) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('input format detection scores records, not file names (fixtures)', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'llavakit-detect-'));
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  for (const kase of dirs(root)) {
    it(kase, async () => {
      const folder = join(root, kase);
      const input = inputOf(folder);
      const chosen = await chooseInputFormat(input, { registry: createBuiltinRegistry() });
      expect(chosen.by).toBe('detected');
      const scores = chosen.scores.map((s) => `${s.format} ${s.score.toFixed(2)}`).join('\n');
      check(join(folder, 'expected.txt'), `${chosen.format.name}\n\n${scores}\n`);
      const output = join(out, `${kase}.jsonl`);
      const summary = await convert({ inputs: [input], to: 'llava', output, registry: createBuiltinRegistry() });
      expect(summary).toMatchObject({ failed: false, rejected: 0 });
      const records = (await readFile(output, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown);
      check(join(folder, 'expected.json'), `${JSON.stringify(records, null, 2)}\n`);
    });
  }

  for (const kase of dirs(join(root, '_errors_'))) {
    it(`_errors_/${kase}`, async () => {
      const folder = join(root, '_errors_', kase);
      const input = inputOf(folder);
      const error = await chooseInputFormat(input, { registry: createBuiltinRegistry() }).catch((e: unknown) => e);
      expect(DiagnosticError.is(error)).toBe(true);
      const d = (error as DiagnosticError).diagnostic;
      const text = `${formatDiagnostic(d, { color: false })}\n  hint: ${d.hint}\n`.replaceAll(folder, '<dir>');
      check(join(folder, 'expected.txt'), text);
      // convert stops on it, writes nothing, and counts no record
      const output = join(out, `${kase}.json`);
      const summary = await convert({ inputs: [input], to: 'sharegpt', output, registry: createBuiltinRegistry() });
      expect(summary).toMatchObject({ failed: true, read: 0, written: 0 });
      expect(summary.fatal?.ruleId).toBe(d.ruleId);
      expect(existsSync(output)).toBe(false);
    });
  }

  it('two formats with the same best score: the choice is the user’s, with every candidate and its score', async () => {
    const registry = createBuiltinRegistry();
    const twin = (name: string) =>
      defineFormat({ specVersion: 1, name, detect: () => 0.99, decode: (v) => ({ ok: true, record: v as never }) });
    registry.add(twin('twin-a'), { plugin: 'test', via: 'builtin' });
    registry.add(twin('twin-b'), { plugin: 'test', via: 'builtin' });
    const input = inputOf(join(root, 'llava-instruct'));
    const error = await chooseInputFormat(input, { registry }).catch((e: unknown) => e);
    expect(DiagnosticError.is(error)).toBe(true);
    const d = (error as DiagnosticError).diagnostic;
    expect(d.ruleId).toBe('format/ambiguous');
    expect(d.message).toContain('equally like twin-a and twin-b');
    expect(d.message).toContain('First record: {"id":"000000033471"');
    expect(d.data?.scores).toEqual(expect.arrayContaining([{ format: 'llava', score: 0.8 }]));
    // --from settles it
    expect((await chooseInputFormat(input, { registry, from: 'llava' })).format.name).toBe('llava');
  });
});
