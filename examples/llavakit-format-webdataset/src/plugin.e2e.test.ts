import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The plugin as a third party ships it: build it against the *packed* llavakit packages (not the workspace
 * sources), pack it with npm, install the tarball into the real `llava` CLI with `llava plugins install file:…` in
 * a temporary oclif data folder, convert the bundled sample, and read the shards back with the system `tar`.
 */

const run = promisify(execFile);
const pluginRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(pluginRoot, '../..');
const cliBin = join(repoRoot, 'apps/cli/bin/run.js');
const sample = join(repoRoot, 'examples/sample');
/** The llavakit packages the plugin's types come from (the contract and what its types mention). */
const contractPackages = ['diagnostics', 'schema', 'reader', 'format'];

/** pnpm, as the running package manager or from PATH (it rewrites `workspace:^` ranges when packing). */
function pnpm(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && basename(execpath).includes('pnpm')) {
    return /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []];
  }
  if (spawnSync('pnpm', ['--version']).status === 0) return ['pnpm', []];
  return ['npx', ['-y', 'pnpm@12.4.2']];
}

describe('llavakit-format-webdataset as an installed third-party plugin', () => {
  let dir: string;
  let env: Record<string, string>;
  let tarball: string;

  const llava = async (args: string[]) => {
    const result = spawnSync(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-wds-e2e-'));
    env = {
      LLAVA_DATA_DIR: join(dir, 'data'),
      LLAVA_CONFIG_DIR: join(dir, 'config'),
      LLAVA_CACHE_DIR: join(dir, 'cache'),
    };
    // 1. The published llavakit contract packages, as tarballs (workspace ranges rewritten to versions).
    const tarballs = join(dir, 'tarballs');
    await mkdir(tarballs);
    const [command, prefix] = pnpm();
    for (const name of contractPackages) {
      await run(command, [...prefix, 'pack', '--pack-destination', tarballs], {
        cwd: join(repoRoot, 'packages', name),
      });
    }
    // 2. A copy of the plugin, with its build-time dependencies installed from those tarballs and the registry.
    const build = join(dir, 'build');
    await mkdir(build);
    for (const entry of ['package.json', 'tsconfig.json', 'README.md', 'src']) {
      await cp(join(pluginRoot, entry), join(build, entry), { recursive: true });
    }
    const packed = (await readdir(tarballs)).map((file) => join(tarballs, file));
    await run(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', ...packed, 'zod@4.6.7', '@types/node@20'],
      { cwd: build, env: { ...process.env, npm_config_yes: 'true' } },
    );
    // 3. Build with TypeScript (type-checks the plugin against the packed contract), then pack it.
    const tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: build });
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: build,
    });
    tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('packs only the built files, the manifest and the README', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').sort();
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/hook.js');
    expect(files).toContain('package/README.md');
    expect(files.filter((file) => file.includes('.test.') || file.startsWith('package/src/'))).toEqual([]);
  });

  it('installs with `llava plugins install file:…`, lists, describes and converts the sample to shards', async () => {
    const install = await llava(['plugins', 'install', `file:${tarball}`]);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).not.toContain('may not work as expected');

    const listed = await llava(['formats', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const formats = JSON.parse(listed.stdout) as { name: string }[];
    expect(formats.find((format) => format.name === 'webdataset')).toMatchObject({
      reads: false,
      writes: true,
      origin: { plugin: 'llavakit-format-webdataset', version: '1.0.0', via: 'oclif-plugin' },
    });
    expect(formats.find((format) => format.name === 'sharegpt')).toBeDefined();
    expect(listed.stderr).toBe('');

    const described = await llava(['formats', 'webdataset']);
    expect(described.stdout).toMatch(/shard-size\s+integer, default 1000\. Samples per shard/);
    expect(described.stdout).toContain('max-shards');

    const out = join(dir, 'shards');
    const converted = await llava([
      'convert',
      join(sample, 'llava_sample.json'),
      '--to',
      'webdataset',
      '-o',
      out,
      '-O',
      'shard-size=4',
      '--images',
      join(sample, 'images'),
      '--json',
    ]);
    expect(converted.code, converted.stderr).toBe(0);
    expect(JSON.parse(converted.stdout)).toMatchObject({ to: 'webdataset', read: 6, written: 6, rejected: 0 });

    // Read the output back with an independent reader: the system tar.
    expect((await readdir(out)).sort()).toEqual(['shard-000000.tar', 'shard-000001.tar']);
    const members = (shard: string) =>
      execFileSync('tar', ['-tf', join(out, shard)], { encoding: 'utf8' })
        .trim()
        .split('\n');
    expect(members('shard-000000.tar')).toEqual([
      '000000.jpg',
      '000000.json',
      '000001.jpg',
      '000001.json',
      '000002.jpg',
      '000002.json',
      '000003.png',
      '000003.json',
    ]);
    expect(members('shard-000001.tar')).toEqual(['000004.png', '000004.json', '000005.json']);
    const source = JSON.parse(await readFile(join(sample, 'llava_sample.json'), 'utf8')) as Record<string, unknown>[];
    const first = JSON.parse(
      execFileSync('tar', ['-xOf', join(out, 'shard-000000.tar'), '000000.json'], { encoding: 'utf8' }),
    );
    expect(first).toEqual({ ...source[0], image: '000000.jpg' });
    const image = execFileSync('tar', ['-xOf', join(out, 'shard-000001.tar'), '000004.png']);
    expect(Buffer.compare(image, await readFile(join(sample, 'images', '000000100005.png')))).toBe(0);
  });
});
