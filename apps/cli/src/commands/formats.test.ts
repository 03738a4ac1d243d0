import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../test-utils.js';

const fixtures = join(repoRoot, 'packages/convert/src/plugins/__fixtures__/plugins');

/** Write a hook-only oclif plugin package answering `llava:formats` with the given module body. */
async function writeHookPlugin(dir: string, name: string, hookBody: string): Promise<string> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({
      name,
      version: '0.0.7',
      type: 'module',
      keywords: ['llavakit-format', 'oclif-plugin'],
      oclif: { hooks: { 'llava:formats': './hook.js' } },
    }),
  );
  await writeFile(join(root, 'hook.js'), hookBody);
  return root;
}

describe('llava formats (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-formats-'));
    env = {
      LLAVA_DATA_DIR: join(dir, 'data'),
      LLAVA_CONFIG_DIR: join(dir, 'config'),
      LLAVA_CACHE_DIR: join(dir, 'cache'),
    };
  });
  afterAll(() => cleanup());

  it('lists the built-in formats as a table and as JSON with their origin and options', async () => {
    const table = await runCli(['formats'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+READS\s+WRITES\s+EXTENSIONS\s+PLUGIN$/);
    expect(table.stdout).toMatch(/^sharegpt\s+yes\s+yes\s+.*builtin@\d+\.\d+\.\d+\S*$/m);
    const json = await runCli(['formats', '--json'], { env });
    expect(json.code).toBe(0);
    const formats = JSON.parse(json.stdout);
    const sharegpt = formats.find((f: { name: string }) => f.name === 'sharegpt');
    expect(sharegpt).toMatchObject({ reads: true, writes: true, origin: { plugin: 'builtin', via: 'builtin' } });
    expect(sharegpt.options.length).toBeGreaterThan(0);
    for (const option of sharegpt.options) expect(option).toHaveProperty('type');
  });

  it('shows one format with every option (from its zod schema) and its limitations', async () => {
    const json = JSON.parse((await runCli(['formats', 'sharegpt', '--json'], { env })).stdout);
    const text = await runCli(['formats', 'sharegpt'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Options (llava convert -O key=value):');
    for (const option of json.options) expect(text.stdout).toContain(option.flag);
    for (const limitation of json.limitations) expect(text.stdout).toContain(limitation);
  });

  it('exits 2 for an unknown format name', async () => {
    const result = await runCli(['formats', 'no-such-format'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No format named "no-such-format"');
  });

  it('--plugin loads a plugin by path; broken ones are warnings naming them and the rest keeps working', async () => {
    const result = await runCli(
      [
        'formats',
        '--json',
        '--plugin',
        './llavakit-format-good',
        '--plugin',
        './throws.js',
        '--plugin',
        './wrong-shape.js',
        '--plugin',
        './future.js',
      ],
      { env, cwd: fixtures },
    );
    expect(result.code).toBe(0);
    const formats = JSON.parse(result.stdout);
    expect(formats.find((f: { name: string }) => f.name === 'good-lines')).toMatchObject({
      writes: true,
      origin: { plugin: 'llavakit-format-good', version: '2.3.4', via: 'specifier' },
    });
    expect(result.stderr).toMatch(/warning .*\.\/throws\.js.*boom at import.*plugin\/load-failed/);
    expect(result.stderr).toMatch(/warning .*\.\/wrong-shape\.js exports a function.*plugin\/invalid/);
    expect(result.stderr).toMatch(/warning .*\.\/future\.js declares specVersion 99.*plugin\/unsupported-spec-version/);

    const out = join(dir, 'good-lines.json');
    const sample = join(repoRoot, 'examples/sample/llava_sample.json');
    const convert = await runCli(
      [
        'convert',
        sample,
        '--to',
        'good-lines',
        '-o',
        out,
        '--plugin',
        './llavakit-format-good',
        '--plugin',
        './future.js',
      ],
      { env, cwd: fixtures },
    );
    expect(convert.code, convert.stderr).toBe(0);
    expect(convert.stderr).toContain('./future.js declares specVersion 99');
    const lines = JSON.parse(await readFile(out, 'utf8')) as string[];
    expect(lines).toHaveLength(6);
    expect(lines[0]).toContain(' | ');
  });

  it('linked oclif plugins contribute formats through the llava:formats hook; broken ones are named', async () => {
    const plugins = join(dir, 'plugins');
    const good = await writeHookPlugin(
      plugins,
      'llavakit-format-linked',
      `export default async function formats() {
        return [{ specVersion: 1, name: 'linked-lines', encode: (r) => ({ ok: true, value: r.conversations.length }) }];
      }`,
    );
    const throws = await writeHookPlugin(
      plugins,
      'llavakit-format-throws',
      `export default async function formats() { throw new Error('hook exploded'); }`,
    );
    const shape = await writeHookPlugin(
      plugins,
      'llavakit-format-shape',
      `export default async function formats() { return [{ name: 'shapeless' }]; }`,
    );
    const future = await writeHookPlugin(
      plugins,
      'llavakit-format-future',
      `export default async function formats() {
        return { specVersion: 99, name: 'future', encode: () => ({ ok: true, value: 1 }) };
      }`,
    );
    for (const root of [good, throws, shape, future]) {
      const linked = await runCli(['plugins', 'link', root, '--no-install'], { env });
      expect(linked.code, linked.stderr).toBe(0);
    }
    const result = await runCli(['formats', '--json'], { env });
    expect(result.code).toBe(0);
    const formats = JSON.parse(result.stdout);
    expect(formats.find((f: { name: string }) => f.name === 'linked-lines')).toMatchObject({
      origin: { plugin: 'llavakit-format-linked', version: '0.0.7', via: 'oclif-plugin' },
    });
    expect(formats.find((f: { name: string }) => f.name === 'sharegpt')).toBeDefined();
    expect(result.stderr).toMatch(/llavakit-format-throws failed to provide formats: hook exploded/);
    expect(result.stderr).toMatch(/llavakit-format-shape exports an object without a numeric specVersion/);
    expect(result.stderr).toMatch(/llavakit-format-future declares specVersion 99/);

    // The conversion itself still works with a broken plugin around, and can use the linked format.
    const out = join(dir, 'counts.json');
    const convert = await runCli(
      ['convert', join(repoRoot, 'examples/sample/llava_sample.json'), '--to', 'linked-lines', '-o', out, '--json'],
      { env },
    );
    expect(convert.code, convert.stderr).toBe(0);
    expect(JSON.parse(convert.stdout)).toMatchObject({ read: 6, written: 6, to: 'linked-lines' });
    expect(convert.stderr).toContain('llavakit-format-throws');
  });
});
