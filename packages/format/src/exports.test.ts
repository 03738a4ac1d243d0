import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/** Every module specifier a JS or TS file imports or re-exports at run time (type-only ones excluded). */
function runtimeImports(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(pattern)) if (!m[2]) found.push(m[3]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found;
}

describe('@llavakit/format is the spec only', () => {
  it('exports exactly the contract (sorted runtime names)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'SPEC_VERSION',
      'SUPPORTED_SPEC_VERSIONS',
      'canRead',
      'canWrite',
      'checkFormatPlugin',
      'defineFormat',
      'formatRules',
    ]);
  });

  it('has no dependency: zod is its one peer (the llavakit packages it names types of are devDependencies)', () => {
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(['zod']);
    expect(manifest.peerDependenciesMeta).toBeUndefined();
  });

  it('its sources import other llavakit packages and zod for types only', () => {
    const src = join(root, 'src');
    for (const file of readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const imports = runtimeImports(readFileSync(join(src, file), 'utf8'));
      expect(
        imports.filter((s) => !s.startsWith('./')),
        file,
      ).toEqual([]);
    }
  });

  it.skipIf(!existsSync(join(root, 'dist', 'index.js')))('its built JS imports nothing but its own files', () => {
    const dist = join(root, 'dist');
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    expect(files.sort()).toEqual(['check.js', 'contract.js', 'index.js']);
    for (const file of files) {
      expect(
        runtimeImports(readFileSync(join(dist, file), 'utf8')).filter((s) => !s.startsWith('./')),
        file,
      ).toEqual([]);
    }
  });

  it('specVersion is the literal type 1', () => {
    const version: 1 = api.SPEC_VERSION;
    expect(version).toBe(1);
    // @ts-expect-error a plugin declaring another version does not type-check
    api.defineFormat({ specVersion: 2, name: 'x', encode: () => ({ ok: true, value: {} }) });
  });
});

describe('checkFormatPlugin', () => {
  it('accepts a format, freezing a snapshot with its functions bound', () => {
    const format = api.defineFormat({ specVersion: 1, name: 'ok-format', encode: () => ({ ok: true, value: {} }) });
    const check = api.checkFormatPlugin({ default: format }, 'pkg');
    expect(check.ok).toBe(true);
    if (check.ok) expect(Object.isFrozen(check.format)).toBe(true);
  });

  it('refuses the wrong shape and another spec version, with the rule ids and the same shape diagnose() makes', () => {
    expect(api.checkFormatPlugin(42, 'pkg')).toEqual({
      ok: false,
      diagnostic: {
        ruleId: 'plugin/invalid',
        severity: 'error',
        hint: api.formatRules.invalidPlugin.hint,
        message: 'pkg exports a number, not a format.',
        source: 'pkg',
      },
    });
    const future = api.checkFormatPlugin({ specVersion: 9, name: 'f', encode() {} }, 'pkg');
    expect(future.ok === false && future.diagnostic.ruleId).toBe('plugin/unsupported-spec-version');
    const throwing = api.checkFormatPlugin(
      {
        get specVersion() {
          throw new Error('boom');
        },
      },
      'pkg',
    );
    expect(throwing.ok === false && throwing.diagnostic.message).toMatch(/boom/);
  });
});
