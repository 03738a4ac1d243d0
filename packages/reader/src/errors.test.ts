import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticError, formatDiagnostic } from '@llavakit/diagnostics';
import { describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import type { ReadOptions } from './types.js';

const root = join(import.meta.dirname, '__fixtures__', '_errors_');
const UPDATE = process.env.UPDATE_FIXTURES === '1';

/** Read a fixture folder's input.json; render every diagnostic (per-record ones, then the fatal one), one per line. */
async function render(dir: string): Promise<{ lines: string[]; fatal: boolean }> {
  const optionsFile = join(dir, 'options.json');
  const options: ReadOptions = existsSync(optionsFile) ? JSON.parse(readFileSync(optionsFile, 'utf8')) : {};
  const lines: string[] = [];
  let fatal = false;
  // Read through the relative name so the rendered file name is stable.
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    for await (const item of readRecords('input.json', options)) {
      if (!item.ok) lines.push(formatDiagnostic(item.diagnostic));
    }
  } catch (e) {
    if (!DiagnosticError.is(e)) throw e;
    fatal = true;
    lines.push(formatDiagnostic(e.diagnostic));
    expect(e.diagnostic.hint, 'every fatal diagnostic has a one-line hint').toMatch(/^[^\n]+$/);
  } finally {
    process.chdir(cwd);
  }
  return { lines, fatal };
}

describe('error fixtures (src/__fixtures__/_errors_/<case>)', () => {
  const cases = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  it('has the cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });
  for (const name of cases) {
    it(name, async () => {
      const dir = join(root, name);
      const { lines } = await render(dir);
      const expectedFile = join(dir, 'expected.txt');
      const actual = `${lines.join('\n')}\n`;
      if (UPDATE) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(expectedFile, actual);
      }
      expect(existsSync(expectedFile), `${name}/expected.txt exists (UPDATE_FIXTURES=1 writes it)`).toBe(true);
      expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
    });
  }
});
