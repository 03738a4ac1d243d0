import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MixManifest, mixRecipe } from './mix.js';
import { parseStrategy, readRecipe, strategyTake } from './recipe.js';
import { readJson, rec, registry, tempDir, writeJson } from './test-helpers.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'mix');

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('strategies', () => {
  it('parses LLaVA-NeXT strategies; percentages take ceil(N × count / 100)', () => {
    expect(parseStrategy('all')).toEqual({ kind: 'all' });
    expect(parseStrategy('first:10')).toEqual({ kind: 'first', count: 10 });
    expect(parseStrategy('random:12.5%')).toEqual({ kind: 'random', percent: 12.5 });
    expect(strategyTake({ kind: 'random', percent: 10 }, 665298)).toBe(66530);
    expect(strategyTake({ kind: 'first', percent: 50 }, 7)).toBe(4);
    expect(strategyTake({ kind: 'end', count: 100 }, 7)).toBe(7);
    expect(parseStrategy('sometimes:5')).toHaveProperty('error');
    expect(parseStrategy('first:101%')).toEqual({ error: '101% is over 100%' });
    expect(parseStrategy('10%')).toHaveProperty('error', expect.stringContaining('random:10%'));
  });
});

describe('mixRecipe', () => {
  it('mixes by the recipe and writes a manifest that reproduces it', async () => {
    const output = join(dir, 'mix.json');
    const s = await mixRecipe({
      recipe: join(fixtures, 'ok', 'recipe.yaml'),
      registry,
      output,
      rejects: join(dir, 'mix.rejects.jsonl'),
    });
    // first:3 of 10, end:2 of 10, random:50% of 7 = 4, all 7
    expect(s).toMatchObject({ read: 34, written: 16, rejected: 18, rejectedByRule: { 'mix/not-selected': 18 } });
    const records = await readJson(output);
    expect(records.slice(0, 5).map((r) => r.id)).toEqual(['a0', 'a1', 'a2', 'a8', 'a9']);
    expect(records[3]!.image).toBe('extra/coco/train2017/000008.jpg');
    expect(records[0]!.image).toBe('coco/train2017/000000.jpg');
    const manifest = JSON.parse(await readFile(`${output}.manifest.json`, 'utf8')) as MixManifest;
    expect(manifest.seed).toBe(42);
    expect(manifest.inputs.map((i) => [i.json_path, i.sampling_strategy, i.records, i.taken])).toEqual([
      ['a.json', 'first:3', 10, 3],
      ['a.json', 'end:2', 10, 2],
      ['b.jsonl', 'random:50%', 7, 4],
      ['b.jsonl', 'all', 7, 7],
    ]);
    const a = await readFile(join(fixtures, 'ok', 'a.json'));
    expect(manifest.inputs[0]!.sha256).toBe(createHash('sha256').update(a).digest('hex'));
    expect(manifest.inputs[0]!.size).toBe(a.length);
    expect(manifest.llavakit).toMatch(/^\d+\.\d+\.\d+/);
    // Same seed, same mixture; another seed, another random draw.
    await mixRecipe({ recipe: join(fixtures, 'ok', 'recipe.yaml'), registry, output: join(dir, 'again.json') });
    expect(await readFile(join(dir, 'again.json'), 'utf8')).toBe(await readFile(output, 'utf8'));
    await mixRecipe({
      recipe: join(fixtures, 'ok', 'recipe.yaml'),
      registry,
      output: join(dir, 'other.json'),
      seed: 7,
    });
    expect((await readJson(join(dir, 'other.json'))).length).toBe(16);
  });

  const problem = async (name: string) => {
    try {
      await readRecipe(join(fixtures, name, 'recipe.yaml'));
    } catch (error) {
      if (DiagnosticError.is(error)) return error.diagnostic;
    }
    throw new Error('expected a DiagnosticError');
  };

  it('names the rule and the recipe line of each problem', async () => {
    expect(await problem('missing-file')).toMatchObject({ ruleId: 'recipe/missing-file', place: { line: 4 } });
    expect(await problem('bad-strategy')).toMatchObject({
      ruleId: 'recipe/bad-strategy',
      place: { line: 3 },
      pointer: '/datasets/0/sampling_strategy',
    });
    expect(await problem('percent-over-100')).toMatchObject({
      ruleId: 'recipe/bad-strategy',
      place: { line: 4 },
      message: expect.stringContaining('150% is over 100%'),
    });
    expect(await problem('not-yaml')).toMatchObject({ ruleId: 'recipe/syntax' });
    const output = join(dir, 'never.json');
    await expect(
      mixRecipe({ recipe: join(fixtures, 'bad-strategy', 'recipe.yaml'), registry, output }),
    ).rejects.toThrow(DiagnosticError);
    expect(existsSync(output)).toBe(false);
  });
});

const strategy = fc.oneof(
  fc.constant('all'),
  fc.tuple(fc.constantFrom('first', 'end', 'random'), fc.integer({ min: 0, max: 30 })).map(([k, n]) => `${k}:${n}`),
  fc.tuple(fc.constantFrom('first', 'end', 'random'), fc.integer({ min: 0, max: 100 })).map(([k, n]) => `${k}:${n}%`),
);

test.prop([fc.integer({ min: 0, max: 25 }), strategy, fc.integer()], { numRuns: 25 })(
  'each entry takes what its strategy says, in file order',
  async (count, text, seed) => {
    await writeJson(
      join(dir, 'prop.json'),
      Array.from({ length: count }, (_, i) => rec(`r${i}`, `Q${i}`)),
    );
    const recipe = join(dir, 'prop.yaml');
    await writeFile(recipe, `seed: ${seed}\ndatasets:\n  - json_path: prop.json\n    sampling_strategy: "${text}"\n`);
    const output = join(dir, 'prop.out.json');
    const s = await mixRecipe({ recipe, registry, output });
    const parsed = parseStrategy(text);
    if ('error' in parsed) throw new Error(parsed.error);
    const take = strategyTake(parsed, count);
    const ids = (await readJson(output)).map((r) => Number(String(r.id).slice(1)));
    expect(ids).toHaveLength(take);
    expect(s).toMatchObject({ read: count, written: take, rejected: count - take });
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    if (parsed.kind === 'first' || parsed.kind === 'all') expect(ids).toEqual([...Array(take).keys()]);
    if (parsed.kind === 'end') expect(ids).toEqual([...Array(take).keys()].map((i) => count - take + i));
    expect(new Set(ids).size).toBe(take);
  },
);
