import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';
import { STACK, writeRecords } from './fixtures/helpers.js';

/**
 * Plugins behind a wall, through the real CLI: a plugin that throws anywhere (also from a getter or a proxy), loops
 * forever at import, never finishes its top-level await, never resolves its `llava:formats` hook, or whose encode /
 * decode throws, returns a non-result or never settles is reported with its name and the reason — and every other
 * format keeps working. Time limits are shortened with LLAVA_PLUGIN_TIMEOUT_MS so the suite stays fast.
 */
const TIMEOUT = '2500';

const bad: Record<string, string> = {
  'loops.js': 'while (true) {}\nexport default {};',
  'never.js':
    "await new Promise(() => {});\nexport default { specVersion: 1, name: 'never', encode: () => ({ ok: true, value: 1 }) };",
  'throws.js': "throw new Error('boom at import');",
  'getter-name.js':
    "export default { specVersion: 1, get name() { throw new Error('name getter exploded'); }, encode: () => ({ ok: true, value: 1 }) };",
  'getter-encode.js':
    "export default { specVersion: 1, name: 'getter-encode', get encode() { throw new Error('encode getter exploded'); } };",
  'proxy.js':
    "export default new Proxy({}, { get() { throw new Error('proxy trap exploded'); }, has() { throw new Error('proxy has exploded'); } });",
};

const formats: Record<string, string> = {
  // Rejects record "b" by never settling, writes the others.
  'stuck.js':
    "export default { specVersion: 1, name: 'stuck', encode: (r) => (r.id === 'r1' ? new Promise(() => {}) : { ok: true, value: r.id }) };",
  'nonresult.js': `export default { specVersion: 1, name: 'nonresult',
    encode: (r) => (r.id === 'r1' ? 42 : r.id === 'r2' ? { ok: true, value: 10n } : r.id === 'r3' ? { ok: false } : { ok: true, value: r.id }),
    decode: (v) => (v && v.id === 'r1' ? undefined : { ok: true, record: v }) };`,
  'encode-throws.js':
    "export default { specVersion: 1, name: 'encode-throws', encode: () => { throw new Error('encode exploded'); } };",
  'write-throws.js':
    "export default { specVersion: 1, name: 'write-throws', write: async (records) => { for await (const r of records) throw new Error('write exploded'); } };",
};

let dir: string;
let cleanup: () => Promise<void>;
let env: Record<string, string>;
let input: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('llava-faults-plugins-'));
  env = {
    LLAVA_DATA_DIR: join(dir, 'data'),
    LLAVA_CONFIG_DIR: join(dir, 'config'),
    LLAVA_CACHE_DIR: join(dir, 'cache'),
    LLAVA_PLUGIN_TIMEOUT_MS: TIMEOUT,
  };
  for (const [name, body] of Object.entries({ ...bad, ...formats })) await writeFile(join(dir, name), body);
  // A package whose entry loops at import, loaded by --plugin <folder>.
  await mkdir(join(dir, 'llavakit-format-spin'), { recursive: true });
  await writeFile(
    join(dir, 'llavakit-format-spin', 'package.json'),
    JSON.stringify({ name: 'llavakit-format-spin', version: '1.0.0', type: 'module', main: 'index.js' }),
  );
  await writeFile(join(dir, 'llavakit-format-spin', 'index.js'), 'for (;;) {}');
  input = await writeRecords(join(dir, 'in.json'), 5);
});
afterAll(() => cleanup());

describe('a broken --plugin is named with its reason; everything else keeps working', () => {
  it('throwing, looping, never-loading plugins and throwing getters/proxies', async () => {
    const plugins = [...Object.keys(bad), './llavakit-format-spin'].flatMap((name) => [
      '--plugin',
      name.startsWith('.') ? name : `./${name}`,
    ]);
    const result = await runCli(['formats', '--json', ...plugins], { env, cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const names = JSON.parse(result.stdout).map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(['llava', 'sharegpt', 'openai', 'messages', 'swift']));
    const err = result.stderr;
    expect(err).toMatch(/loops\.js.*did not finish within 2\.5 s.*\[plugin\/load-failed\]/);
    expect(err).toMatch(/never\.js.*never finished.*\[plugin\/load-failed\]/);
    expect(err).toMatch(/throws\.js.*boom at import.*\[plugin\/load-failed\]/);
    expect(err).toMatch(/getter-name\.js.*name getter exploded.*\[plugin\/invalid\]/);
    expect(err).toMatch(/getter-encode\.js.*encode getter exploded.*\[plugin\/invalid\]/);
    expect(err).toMatch(/proxy\.js.*proxy .* exploded.*\[plugin\/invalid\]/);
    expect(err).toMatch(/llavakit-format-spin.*did not finish within.*\[plugin\/load-failed\]/);
    expect(err).not.toMatch(STACK);

    // And a conversion with all of them around still works.
    const out = join(dir, 'ok.json');
    const convert = await runCli(['convert', input, '--to', 'sharegpt', '-o', out, '--json', ...plugins], {
      env,
      cwd: dir,
    });
    expect(convert.code, convert.stderr).toBe(0);
    expect(JSON.parse(convert.stdout)).toMatchObject({ read: 5, written: 5 });
  });

  it('an encode that never settles rejects that record after the time limit (never a silent exit 13)', async () => {
    const out = join(dir, 'stuck.json');
    const result = await runCli(['convert', input, '--to', 'stuck', '-o', out, '--json', '--plugin', './stuck.js'], {
      env,
      cwd: dir,
    });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 5, written: 4, rejected: 1, rejectedByRule: { 'format/encode-failed': 1 } });
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(['r0', 'r2', 'r3', 'r4']);
  });

  it('encode/decode results that are not results, or throw, reject the record with the plugin named and the place', async () => {
    const rejects = join(dir, 'nonresult.rejects.jsonl');
    const result = await runCli(
      [
        'convert',
        input,
        '--to',
        'nonresult',
        '-o',
        join(dir, 'nonresult.json'),
        '--rejects',
        rejects,
        '--json',
        '--plugin',
        './nonresult.js',
      ],
      { env, cwd: dir },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 5, written: 2, rejected: 3 });
    const lines = (await readFile(rejects, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const messages = lines.map((l) => l.diagnostics[0].message);
    expect(messages[0]).toMatch(/nonresult.*returned number, not a result object/);
    expect(messages[1]).toMatch(/nonresult.*BigInt/);
    expect(messages[2]).toMatch(/ok: false without diagnostics/);
    // Writer rejections carry the record's place, like reader rejections.
    expect(lines[0].diagnostics[0]).toMatchObject({ recordIndex: 1, place: { line: 3, column: 1 } });

    const decoded = await runCli(
      [
        'convert',
        input,
        '--from',
        'nonresult',
        '--to',
        'llava',
        '-o',
        join(dir, 'back.json'),
        '--plugin',
        './nonresult.js',
      ],
      { env, cwd: dir },
    );
    expect(decoded.code, decoded.stderr).toBe(0);
    expect(decoded.stderr).toMatch(/in\.json:3:1 record #1.*nonresult.*failed to decode.*\[format\/decode-failed\]/);

    const throws = await runCli(
      ['convert', input, '--to', 'encode-throws', '-o', join(dir, 'throws.json'), '--plugin', './encode-throws.js'],
      { env, cwd: dir },
    );
    expect(throws.code).toBe(0);
    expect(throws.stderr).toMatch(/in\.json:2:1 record #0 .*encode-throws.*encode exploded.*\[format\/encode-failed\]/);

    const write = await runCli(
      ['convert', input, '--to', 'write-throws', '-o', join(dir, 'w.out'), '--json', '--plugin', './write-throws.js'],
      { env, cwd: dir },
    );
    expect(write.code).toBe(1);
    expect(JSON.parse(write.stdout)).toMatchObject({ failed: true, written: 0, fatal: { source: 'write-throws' } });
    for (const run of [result, decoded, throws, write]) expect(run.stdout + run.stderr).not.toMatch(STACK);
  });
});

/** Write a hook-only oclif plugin package answering `llava:formats` with the given module body. */
async function writeHookPlugin(root: string, name: string, hookBody: string): Promise<string> {
  const folder = join(root, name);
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, 'package.json'),
    JSON.stringify({
      name,
      version: '0.0.1',
      type: 'module',
      keywords: ['llavakit-format', 'oclif-plugin'],
      oclif: { hooks: { 'llava:formats': './hook.js' } },
    }),
  );
  await writeFile(join(folder, 'hook.js'), hookBody);
  return folder;
}

describe('installed oclif plugins: a stuck one cannot freeze the CLI', () => {
  it('a hook module that loops at import, a hook that never resolves, a result whose getters throw', async () => {
    const root = join(dir, 'oclif');
    const made = [
      await writeHookPlugin(root, 'llavakit-format-hookspin', 'while (true) {}\nexport default async () => [];'),
      await writeHookPlugin(root, 'llavakit-format-hookwait', 'export default () => new Promise(() => {});'),
      await writeHookPlugin(
        root,
        'llavakit-format-hookgetter',
        "export default async () => [{ specVersion: 1, get name() { throw new Error('hook getter exploded'); } }];",
      ),
      await writeHookPlugin(
        root,
        'llavakit-format-hookgood',
        "export default async () => ({ specVersion: 1, name: 'hook-good', encode: (r) => ({ ok: true, value: r.id }) });",
      ),
    ];
    for (const folder of made) {
      const linked = await runCli(['plugins', 'link', folder, '--no-install'], { env });
      expect(linked.code, linked.stderr).toBe(0);
    }
    const result = await runCli(['formats', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const names = JSON.parse(result.stdout).map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(['llava', 'sharegpt', 'hook-good']));
    expect(result.stderr).toMatch(/llavakit-format-hookspin failed to provide formats: its import did not finish/);
    expect(result.stderr).toMatch(/llavakit-format-hookwait failed to provide formats: Timed out after 2500 ms/);
    expect(result.stderr).toMatch(/llavakit-format-hookgetter: reading its format threw: hook getter exploded/);
    expect(result.stderr).not.toMatch(STACK);

    const out = join(dir, 'hook-good.json');
    const convert = await runCli(['convert', input, '--to', 'hook-good', '-o', out, '--json'], { env });
    expect(convert.code, convert.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});
