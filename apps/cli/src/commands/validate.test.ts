import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../test-utils.js';

const sample = join(repoRoot, 'examples/sample/llava_sample.json');
const H = (value: string) => ({ from: 'human', value });
const G = (value: string) => ({ from: 'gpt', value });

describe('llava validate (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bad: string;
  let warnOnly: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-validate-'));
    bad = join(dir, 'bad.json');
    const records = [
      { id: 'a', image: 'a.jpg', conversations: [H('Describe.'), G('A cat.')] },
      { id: 'b', image: 'b.jpg', conversations: [H('<image>\nQ?'), { from: 'bot', value: 'A.' }] },
      { id: 'c', image: 'c.jpg', conversations: [H('<image>\nQ?'), G('A.')] },
      { id: 'd', image: 'd.jpg', conversations: [H('Q?'), G('A.')] },
    ];
    await writeFile(bad, `${JSON.stringify(records, null, 2)}\n`);
    warnOnly = join(dir, 'warn.json');
    const warnRecords = [
      { id: 'x', image: 'coco/x.jpg', conversations: [H('<image>\nQ?'), G('A.')] },
      { id: 7, image: 'coco/y.jpg', conversations: [H('<image>\nQ?'), G('A.')] },
    ];
    await writeFile(warnOnly, JSON.stringify(warnRecords, null, 2));
  });
  afterAll(() => cleanup());

  it('passes a clean file with exit 0', async () => {
    const result = await runCli(['validate', sample]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('OK: checked 6 records in 1 file: 0 errors');
  });

  it('reports errors grouped by rule with counts, places and excerpts, exit 1', async () => {
    const result = await runCli(['validate', bad]);
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toMatch(/^image\/token-count {2}2 errors$/m);
    expect(out).toMatch(/^roles\/unknown {2}1 error$/m);
    expect(out).toContain('hint: Put exactly one `<image>`');
    // file:line:column of the offending value, record index and id, pointer
    expect(out).toContain(`${bad}:4:14 record #0 (id "a") /image`);
    expect(out).toMatch(/bad\.json:\d+:\d+ record #1 \(id "b"\) \/conversations\/1\/from/);
    expect(out).toContain('    | "bot"');
    expect(out).toContain('FAIL: checked 4 records in 1 file: 3 errors, 0 warnings');
    expect(result.stderr).toBe('');
  });

  it('--max-per-rule caps the shown diagnostics, the counts cover all', async () => {
    const result = await runCli(['validate', bad, '--max-per-rule', '1']);
    expect(result.stdout).toMatch(/^image\/token-count {2}2 errors$/m);
    expect(result.stdout).toContain('  … and 1 more');
  });

  it('--json streams one object per diagnostic, then a summary', async () => {
    const result = await runCli(['validate', bad, '--json', '--max-per-rule', '1']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines.pop();
    expect(lines.map((d) => d.ruleId).sort()).toEqual(['image/token-count', 'roles/unknown']);
    for (const d of lines) {
      expect(d).toMatchObject({ file: bad, severity: 'error', source: 'validate' });
      expect(d.recordIndex).toBeTypeOf('number');
      expect(d.pointer).toMatch(/^\//);
      expect(d.place).toMatchObject({
        offset: expect.any(Number),
        line: expect.any(Number),
        column: expect.any(Number),
      });
    }
    expect(summary).toEqual({
      summary: {
        records: 4,
        diagnostics: { error: 3, warning: 0, info: 0 },
        byRule: { 'image/token-count': 2, 'roles/unknown': 1 },
        files: [
          { file: bad, records: 4, error: 3, warning: 0, info: 0, format: 'llava', kind: 'llava', by: 'detected' },
        ],
        strict: false,
        failed: true,
      },
    });
  });

  it('warnings pass, and fail with --strict', async () => {
    const loose = await runCli(['validate', warnOnly]);
    expect(loose.code).toBe(0);
    expect(loose.stdout).toContain('id/mixed-types  1 warning');
    expect(loose.stdout).toContain('datasets/Arrow');
    const strict = await runCli(['validate', warnOnly, '--strict', '--quiet']);
    expect(strict.code).toBe(1);
    expect(strict.stdout.trim()).toBe(
      'FAIL (--strict: warnings fail): checked 2 records in 1 file: 0 errors, 1 warning, 0 infos.',
    );
  });

  it('reports JSON syntax errors (trailing comma, truncation) and missing files as diagnostics, never a stack', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(
      broken,
      '[\n  {"id": "a", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"},]},\n  {"id": "b", "conversations": [',
    );
    const result = await runCli(['validate', broken, join(dir, 'missing.json'), '--json']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const rules = lines.slice(0, -1).map((d) => d.ruleId);
    expect(rules).toEqual(['json/syntax', 'json/truncated', 'input/not-found']);
    expect(lines[0]).toMatchObject({ file: broken, recordIndex: 0, place: { line: 2 } });
    expect(lines.at(-1).summary.files[0]).toMatchObject({ stopped: 'json/truncated' });
    expect(result.stderr).not.toMatch(/\bat \S+:\d+:\d+/);
  });

  it('reads standard input; --from llava-next accepts image lists', async () => {
    const record = { id: 'n', image: ['a.jpg', 'b.jpg'], conversations: [H('<image>\n<image>\nCompare.'), G('Same.')] };
    const input = `${JSON.stringify(record)}\n`;
    const v1 = await runCli(['validate', '-'], { input });
    expect(v1.code).toBe(1);
    expect(v1.stdout).toContain('image/list  1 error');
    const next = await runCli(['validate', '-', '--from', 'llava-next'], { input });
    expect(next.code).toBe(0);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['validate'])).code).toBe(2);
    expect((await runCli(['validate', sample, '--from', 'nope'])).code).toBe(2);
    expect((await runCli(['validate', sample, '--max-per-rule', 'x'])).code).toBe(2);
  });
});
