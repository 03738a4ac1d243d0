import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '@llavakit/diagnostics';
import { formatDiagnostic } from '@llavakit/diagnostics';
import type { FormatPlugin, ImageAccess } from '@llavakit/format';
import { encodeTinyImage } from '@llavakit/testkit';
import { describe, expect, it } from 'vitest';
import { NO_IMAGES, testContext } from './__fixtures__/harness.js';
import { builtinFormats } from './index.js';

/**
 * One folder per case under each format's `<name>/__fixtures__/`: `input.json` (a list of records), optional
 * `options.json`, and `expected.json` (the list of outputs). Cases named `decode-*` read the format and expect LLaVA
 * records. `_errors_/<case>/` holds inputs that are rejected, with `expected.txt` the rendered diagnostics.
 * Run with UPDATE_FIXTURES=1 to rewrite the expected files (then review the diff).
 */
/** Each built-in format keeps its cases in its own folder: `<name>/__fixtures__/`. */
const root = fileURLToPath(new URL('./', import.meta.url));
const update = process.env.UPDATE_FIXTURES === '1';

/** Images the fixtures may embed: `tiny.png`, `tiny.jpg`, `tiny.gif`, `big.png` (11 MB). */
const FIXTURE_IMAGES: ImageAccess = {
  rewrite: (path) => path,
  readBytes: async (path) => {
    if (path.endsWith('tiny.png')) return encodeTinyImage('png', { width: 2, height: 2 });
    if (path.endsWith('tiny.jpg')) return encodeTinyImage('jpeg', { width: 2, height: 2 });
    if (path.endsWith('tiny.gif')) return encodeTinyImage('gif', { width: 2, height: 2 });
    if (path.endsWith('big.png')) return new Uint8Array(11 * 1024 * 1024);
    return undefined;
  },
};

const dirs = (path: string) =>
  readdirSync(path)
    .filter((name) => statSync(join(path, name)).isDirectory())
    .sort();
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as unknown;

async function run(format: FormatPlugin<object>, folder: string, decode: boolean) {
  const options = existsSync(join(folder, 'options.json')) ? (readJson(join(folder, 'options.json')) as object) : {};
  const { at, counts } = testContext(
    format,
    options as Record<string, unknown>,
    'embedImages' in options ? FIXTURE_IMAGES : NO_IMAGES,
  );
  const outputs: unknown[] = [];
  const diagnostics: Diagnostic[] = [];
  const inputs = readJson(join(folder, 'input.json')) as unknown[];
  for (let i = 0; i < inputs.length; i++) {
    const result = decode ? format.decode!(inputs[i], at(i)) : await format.encode!(inputs[i] as never, at(i));
    if (result.ok) outputs.push('record' in result ? result.record : result.value);
    else diagnostics.push(...result.diagnostics);
  }
  return { outputs, diagnostics, counts };
}

function check(path: string, actual: string) {
  if (update) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

for (const format of builtinFormats) {
  const name = format.name;
  const cases = join(root, name, '__fixtures__');
  describe(`fixtures: ${name}`, () => {
    it('has its folder of cases', () => expect(existsSync(cases)).toBe(true));
    if (!existsSync(cases)) return;
    for (const kase of dirs(cases).filter((c) => c !== '_errors_')) {
      it(kase, async () => {
        const folder = join(cases, kase);
        const { outputs, diagnostics, counts } = await run(format, folder, kase.startsWith('decode-'));
        expect(diagnostics.map((d) => formatDiagnostic(d, { color: false }))).toEqual([]);
        check(join(folder, 'expected.json'), `${JSON.stringify({ outputs, counts }, null, 2)}\n`);
      });
    }
    const errors = join(cases, '_errors_');
    if (!existsSync(errors)) return;
    for (const kase of dirs(errors)) {
      it(`_errors_/${kase}`, async () => {
        const folder = join(errors, kase);
        const { outputs, diagnostics } = await run(format, folder, kase.startsWith('decode-'));
        expect(outputs).toEqual([]);
        const text = diagnostics.map((d) => `${formatDiagnostic(d, { color: false })}\n  hint: ${d.hint}`).join('\n');
        check(join(folder, 'expected.txt'), `${text}\n`);
      });
    }
  });
}
