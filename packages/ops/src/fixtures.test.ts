import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupRecords } from './dedup.js';
import { filterRecords } from './filter.js';
import type { OpSummary } from './op-types.js';
import { sampleRecords } from './sample.js';
import { splitRecords } from './split.js';
import { readJson, readLines, registry, tempDir } from './test-helpers.js';

/**
 * Fixture folders `__fixtures__/<command>/<case>/`: `input.json`, `options.json` (the library options) and
 * `expected.json`: the ids written and the rule of each rejected index, or `error` (a usage error's rule), or
 * `fatal` (the input error that stopped it, nothing written), or `snapshot: true` — the drawn/held-out ids in
 * `snapshot.json`, so seeded results stay the same across versions (regenerate with UPDATE_FIXTURES=1).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');
const commands = ['filter', 'dedup', 'split', 'sample'] as const;

interface Expected {
  written?: string[];
  rejected?: { index: number; rule: string; keptIndex?: number }[];
  error?: string;
  fatal?: string;
  snapshot?: boolean;
  evalBySource?: Record<string, number>;
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function run(command: (typeof commands)[number], input: string, options: Record<string, unknown>, name: string) {
  const output = join(dir, `${name}.out.json`);
  const evalOutput = join(dir, `${name}.eval.json`);
  const rejects = join(dir, `${name}.rejects.jsonl`);
  const common = { inputs: [input], registry, output, rejects };
  let summary: OpSummary;
  if (command === 'filter') summary = await filterRecords({ ...common, ...options });
  else if (command === 'dedup') summary = await dedupRecords({ ...common, ...options });
  else if (command === 'split') summary = await splitRecords({ ...common, evalOutput, eval: 0, ...options });
  else summary = await sampleRecords({ ...common, ...options });
  return { summary, output, evalOutput, rejects };
}

for (const command of commands) {
  describe(`${command} fixtures`, async () => {
    const cases = (await readdir(join(root, command))).sort();
    for (const name of cases) {
      it(name, async () => {
        const folder = join(root, command, name);
        const input = join(folder, 'input.json');
        const options = JSON.parse(await readFile(join(folder, 'options.json'), 'utf8')) as Record<string, unknown>;
        const expected = JSON.parse(await readFile(join(folder, 'expected.json'), 'utf8')) as Expected;
        if (expected.error) {
          const error = await run(command, input, options, `${command}-${name}`).catch((e: unknown) => e);
          expect(DiagnosticError.is(error) && error.diagnostic.ruleId).toBe(expected.error);
          return;
        }
        const { summary, output, evalOutput, rejects } = await run(command, input, options, `${command}-${name}`);
        if (expected.fatal) {
          expect(summary.failed).toBe(true);
          expect(summary.fatal?.ruleId).toBe(expected.fatal);
          expect(existsSync(output)).toBe(false);
          return;
        }
        expect(summary.read).toBe(summary.written + summary.rejected);
        const ids = (await readJson(output)).map((r) => r.id);
        if (expected.snapshot) {
          const actual = {
            written: ids,
            ...(command === 'split' ? { eval: (await readJson(evalOutput)).map((r) => r.id) } : {}),
          };
          const file = join(folder, 'snapshot.json');
          if (process.env.UPDATE_FIXTURES === '1') {
            await writeFile(file, `${JSON.stringify(actual, null, 2)}\n`);
          }
          expect(actual).toEqual(JSON.parse(await readFile(file, 'utf8')));
          if (expected.evalBySource)
            expect((summary as { evalBySource?: unknown }).evalBySource).toEqual(expected.evalBySource);
          return;
        }
        expect(ids).toEqual(expected.written);
        const lines = await readLines(rejects);
        expect(
          lines.map((l) => {
            const d = (l.diagnostics as { ruleId: string; data?: { keptIndex?: number } }[])[0]!;
            return {
              index: l.index,
              rule: d.ruleId,
              ...(d.data?.keptIndex !== undefined ? { keptIndex: d.data.keptIndex } : {}),
            };
          }),
        ).toEqual(expected.rejected);
      });
    }
  });
}
