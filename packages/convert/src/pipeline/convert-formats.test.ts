import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llavaRecordArbitrary } from '../formats/__fixtures__/harness.js';
import { createBuiltinRegistry } from '../formats/index.js';
import { convert } from './convert.js';

describe('convert() to every built-in format and back', () => {
  let dir: string;
  let input: string;
  let records: unknown[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llavakit-formats-'));
    records = fc.sample(llavaRecordArbitrary, { numRuns: 60, seed: 42 });
    input = join(dir, 'input.json');
    await writeFile(input, JSON.stringify(records, null, 1));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const targets: [string, string, Record<string, unknown>][] = [
    ['sharegpt', 'out.sharegpt.json', {}],
    ['sharegpt', 'out.sharegpt-messages.jsonl', { layout: 'messages' }],
    ['swift', 'out.swift.jsonl', {}],
    ['messages', 'out.messages.jsonl', {}],
    ['openai', 'out.openai.jsonl', { meta: true }],
    ['llava', 'out.llava.jsonl', {}],
  ];
  for (const [to, file, formatOptions] of targets) {
    it(`llava → ${to} ${JSON.stringify(formatOptions)} → llava gives back the same file`, async () => {
      const registry = createBuiltinRegistry();
      const output = join(dir, file);
      const there = await convert({ inputs: [input], to, output, registry, formatOptions });
      expect(there).toMatchObject({ read: records.length, written: records.length, rejected: 0, failed: false });
      expect(there.from).toEqual(['llava']);
      const back = join(dir, `${file}.back.json`);
      const again = await convert({ inputs: [output], to: 'llava', output: back, registry, formatOptions });
      expect(again).toMatchObject({ written: records.length, rejected: 0 });
      // ShareGPT's role/content layout reads the same as ms-swift's; either may be detected.
      expect(formatOptions.layout ? [to, 'swift'] : [to]).toContain(again.from[0]);
      expect(await readFile(back, 'utf8')).toBe(`[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`);
    });
  }

  it('counts what the policy did and names what the target cannot hold in the summary', async () => {
    const output = join(dir, 'front.jsonl');
    const summary = await convert({
      inputs: [input],
      to: 'openai',
      output,
      registry: createBuiltinRegistry(),
      formatOptions: { imageToken: 'front' },
    });
    expect(summary.counts['image-token:moved-to-front']).toBeGreaterThan(0);
    expect(summary.limitations.join(' ')).toMatch(/no record id/);
  });

  it('rejects an option value the target does not support, before writing anything', async () => {
    const summary = await convert({
      inputs: [input],
      to: 'sharegpt',
      output: join(dir, 'never.json'),
      registry: createBuiltinRegistry(),
      formatOptions: { imageToken: 'parts' },
    }).catch((e: unknown) => e);
    expect((summary as { diagnostic?: { ruleId: string } }).diagnostic?.ruleId).toBe('options/invalid');
    await expect(readFile(join(dir, 'never.json'))).rejects.toThrow(/ENOENT/);
  });
});
