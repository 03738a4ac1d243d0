import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFormatPlugin, loadFormatPlugins, pluginCandidates } from './load.js';
import { FormatRegistry } from './registry.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'plugins');

describe('pluginCandidates', () => {
  it('expands short names to llavakit-format-<name> first and keeps paths and full names', () => {
    expect(pluginCandidates('webdataset')).toEqual(['llavakit-format-webdataset', 'webdataset']);
    expect(pluginCandidates('@acme/parquet')).toEqual(['@acme/llavakit-format-parquet', '@acme/parquet']);
    expect(pluginCandidates('llavakit-format-x')).toEqual(['llavakit-format-x']);
    expect(pluginCandidates('./x.js')).toEqual(['./x.js']);
    expect(pluginCandidates('/abs/x.js')).toEqual(['/abs/x.js']);
  });
});

describe('loadFormatPlugin', () => {
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'llava-format-load-'));
    const root = join(project, 'node_modules', 'llavakit-format-named');
    await mkdir(join(root, 'dist'), { recursive: true });
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({
        name: 'llavakit-format-named',
        version: '0.1.0',
        type: 'module',
        exports: { '.': { import: './dist/index.js' } },
      }),
    );
    await writeFile(
      join(root, 'dist', 'index.js'),
      `export default [
        { specVersion: 1, name: 'named', encode: (record) => ({ ok: true, value: record }) },
        { specVersion: 1, name: 'Not Kebab', encode: () => ({ ok: true, value: 1 }) },
      ];`,
    );
  });
  afterAll(() => rm(project, { recursive: true, force: true }));

  it('loads a package folder by relative path, with its package name and version as origin', async () => {
    const loaded = await loadFormatPlugin('./llavakit-format-good', { cwd: fixtures });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.formats.map((f) => f.name)).toEqual(['good-lines']);
    expect(loaded.origin).toEqual({
      plugin: 'llavakit-format-good',
      version: '2.3.4',
      via: 'specifier',
      file: join(fixtures, 'llavakit-format-good', 'index.js'),
    });
  });

  it('resolves a short name from node_modules of the cwd (ESM-only exports) and reports the invalid entry', async () => {
    const loaded = await loadFormatPlugin('named', { cwd: join(project, 'deep') });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.formats.map((f) => f.name)).toEqual(['named']);
    expect(loaded.origin).toMatchObject({ plugin: 'llavakit-format-named', version: '0.1.0' });
    expect(loaded.diagnostics?.[0]).toMatchObject({ ruleId: 'plugin/invalid', source: 'llavakit-format-named' });
  });

  it.each([
    ['./throws.js', 'plugin/load-failed', /boom at import/],
    ['./wrong-shape.js', 'plugin/invalid', /exports a function, not a format/],
    ['./future.js', 'plugin/unsupported-spec-version', /specVersion 99/],
    ['./missing.js', 'plugin/load-failed', /Cannot find plugin "\.\/missing\.js"/],
    ['no-such-thing', 'plugin/load-failed', /tried llavakit-format-no-such-thing, no-such-thing/],
  ])('reports %s as %s without throwing', async (specifier, ruleId, message) => {
    const loaded = await loadFormatPlugin(specifier, { cwd: fixtures });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.diagnostics[0]?.ruleId).toBe(ruleId);
    expect(loaded.diagnostics[0]?.message).toMatch(message);
    expect(loaded.diagnostics[0]?.source).toBeTruthy();
  });

  it('loadFormatPlugins registers what loads and returns the rest as diagnostics', async () => {
    const registry = new FormatRegistry();
    const diagnostics = await loadFormatPlugins(registry, ['./throws.js', './llavakit-format-good', './future.js'], {
      cwd: fixtures,
    });
    expect(registry.list().map((e) => e.format.name)).toEqual(['good-lines']);
    expect(diagnostics.map((d) => d.ruleId)).toEqual(['plugin/load-failed', 'plugin/unsupported-spec-version']);
  });
});

describe('plugin names', () => {
  it('names a loose file by the path given, not by the package that happens to contain it', async () => {
    const loaded = await loadFormatPlugin('./throws.js', { cwd: fixtures });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.diagnostics[0]?.message).toMatch(/^Cannot import plugin \.\/throws\.js /);
    expect(loaded.diagnostics[0]?.source).toBe('./throws.js');
  });

  it('names the entry file of a package after the package', async () => {
    const loaded = await loadFormatPlugin('./llavakit-format-good/index.js', { cwd: fixtures });
    expect(loaded.ok && loaded.origin.plugin).toBe('llavakit-format-good');
  });
});
