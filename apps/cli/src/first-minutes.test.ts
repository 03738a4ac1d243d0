import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closestCommand, editDistance } from './hooks/command-not-found.js';
import { cliRoot, repoRoot, runCli, tempDir } from './test-utils.js';

/** What a new user meets first: mistyped commands, usage errors, `llava formats`, the conversion summary. */

const sample = join(repoRoot, 'examples/sample/llava_sample.json');

describe('the first ten minutes with llava (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-first-'));
    env = {
      LLAVA_DATA_DIR: join(dir, 'data'),
      LLAVA_CONFIG_DIR: join(dir, 'config'),
      LLAVA_CACHE_DIR: join(dir, 'cache'),
    };
  });
  afterAll(() => cleanup());

  it.each([
    [['conver', 'data.json'], 'llava convert'],
    [['formts'], 'llava formats'],
    [['images', 'chek', 'data.json'], 'llava images check'],
    [['prompts', 'biuld'], 'llava prompts build'],
  ])('suggests the command meant by %j (usage error, exit 2)', async (args, meant) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr.replace(/\s*›\s*/g, ' ')).toContain(`Did you mean \`${meant}\`?`);
    expect(result.stderr).toContain('llava --help');
    expect(result.stdout).toBe('');
  });

  it('suggests nothing for a command that is not close to any', async () => {
    const result = await runCli(['xyzzy'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('`llava xyzzy` is not a command.');
    expect(result.stderr).not.toContain('Did you mean');
  });

  it.each([
    [['convert'], /Missing 1 required arg: inputs/, 'llava convert --help'],
    [['convert', 'data.json'], /Missing required flag to/, 'llava convert --help'],
    [['convert', 'data.json', '--too', 'sharegpt'], /Nonexistent flag: --too/, 'llava convert --help'],
    [
      ['convert', 'data.json', '--to', 'sharegpt', '--container', 'xml'],
      /Expected --container=xml to be one of: json, jsonl/,
      'llava convert --help',
    ],
    [['images', 'check', '--images'], /Flag --images expects a value/, ''],
    [['render'], /Missing 1 required arg: input/, 'llava render --help'],
  ])('prints %j as one line and a --help hint, not the whole usage', async (args, message, hint) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    if (hint) expect(result.stderr).toContain(`See \`${hint}\`.`);
    expect(result.stderr).not.toMatch(/USAGE|FLAGS|Note:|ARGUMENTS/);
    // The message (wrapped by oclif at 80 columns) and the hint.
    expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
  });

  it('shows the version of the built-in formats and of the core Parquet plugin', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'packages/convert/package.json'), 'utf8'));
    const table = await runCli(['formats'], { env });
    expect(table.code).toBe(0);
    for (const name of ['llava', 'sharegpt', 'openai', 'messages', 'swift']) {
      expect(table.stdout).toMatch(new RegExp(`^${name}\\s.*\\sbuiltin@${version.replace(/\./g, '\\.')}$`, 'm'));
    }
    const json = JSON.parse((await runCli(['formats', '--json'], { env })).stdout) as {
      name: string;
      origin: unknown;
    }[];
    // Parquet ships as a core oclif plugin (a format package loaded the way a third party's is), with its version.
    const parquet = JSON.parse(await readFile(join(repoRoot, 'packages/format-parquet/package.json'), 'utf8'));
    expect(json.map((format) => format.name)).toContain('parquet');
    for (const format of json) {
      expect(format.origin).toMatchObject(
        format.name === 'parquet'
          ? { plugin: '@llavakit/format-parquet', version: parquet.version, via: 'oclif-plugin' }
          : { plugin: 'builtin', version, via: 'builtin' },
      );
    }
  });

  it('names the container of the output honestly: JSON/JSONL for record formats, none for a format of its own', async () => {
    const record = await runCli(['convert', sample, '--to', 'sharegpt', '-o', join(dir, 'out.jsonl')], { env });
    expect(record.code, record.stderr).toBe(0);
    expect(record.stderr).toContain(`→ sharegpt (${join(dir, 'out.jsonl')}, jsonl)`);

    // A stream-level writer owns its container (like tar shards): the summary names none.
    const plugin = join(dir, 'own-container.mjs');
    await writeFile(
      plugin,
      `export default { specVersion: 1, name: 'own-container', description: 'writes its own files',
        async write(records, context) { for await (const source of records) context.accept(source); } };\n`,
    );
    const out = join(dir, 'shards');
    const stream = await runCli(['convert', sample, '--to', 'own-container', '-o', out, '--plugin', plugin], { env });
    expect(stream.code, stream.stderr).toBe(0);
    expect(stream.stderr).toContain(`→ own-container (${out})\n`);
    expect(stream.stderr).not.toMatch(/, jsonl?\)/);
    const json = await runCli(['convert', sample, '--to', 'own-container', '-o', out, '--plugin', plugin, '--json'], {
      env,
    });
    expect(JSON.parse(json.stdout)).not.toHaveProperty('container');
  });
});

describe('closestCommand', () => {
  const ids = ['convert', 'validate', 'formats', 'render', 'images:check', 'prompts:build', 'prompts:parse', 'plugins'];
  it('finds the command a typo meant, and nothing for an unrelated word', () => {
    expect(editDistance('conver', 'convert')).toBe(1);
    expect(closestCommand('conver', ids)).toBe('convert');
    expect(closestCommand('valdiate', ids)).toBe('validate');
    expect(closestCommand('images:chek', ids)).toBe('images:check');
    expect(closestCommand('plugin', ids)).toBe('plugins');
    expect(closestCommand('xyzzy', ids)).toBeUndefined();
    expect(closestCommand('train', ids)).toBeUndefined();
  });
});

// The hook is registered in the package manifest, as oclif loads it.
it('registers the command_not_found hook', async () => {
  const manifest = JSON.parse(await readFile(join(cliRoot, 'package.json'), 'utf8'));
  expect(manifest.oclif.hooks.command_not_found).toBe('./dist/hooks/command-not-found.js');
});
