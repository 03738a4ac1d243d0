import { execFile, spawnSync } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startRegistry } from './verdaccio.js';
import {
  listFiles,
  type Manifest,
  releasedPackages,
  repoRoot,
  scratchCopy,
  type WorkspacePackage,
  workspacePackages,
} from './workspace.js';

/**
 * llavakit installed the way its users install it. A real npm registry (Verdaccio, on 127.0.0.1) receives every
 * public `@llavakit/*` package through the project's release flow (`changeset version --snapshot` in a scratch copy,
 * then `pnpm publish`); then, with only that registry configured and a fresh HOME, cache and prefix:
 * `npm install -g @llavakit/cli`, `llava --version`, `llava convert`, `llava formats`; the example plugin is built
 * from its own package.json in a clean copy against the published packages, `npm publish`ed, installed by name with
 * `llava plugins install`, used, listed and uninstalled; a broken plugin installed beside it is reported, not fatal.
 */

const sample = join(repoRoot, 'examples/sample');
const pluginSource = join(repoRoot, 'examples/llavakit-format-webdataset');

/** The registry npm is configured with (the upstream of every name that is not llavakit's). */
const upstream = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout?.trim() || '';
/** Why the test cannot run here, if it cannot: it needs the upstream registry for the CLI's own dependencies. */
const unreachable = await (async () => {
  if (!/^https?:\/\//.test(upstream)) return `npm has no registry configured (${JSON.stringify(upstream)})`;
  try {
    await fetch(new URL('-/ping', upstream), { signal: AbortSignal.timeout(10_000) });
    return undefined;
  } catch (error) {
    return `the npm registry is unreachable (${(error as Error).message})`;
  }
})();
if (unreachable) console.warn(`registry e2e skipped: ${unreachable}`);

/** pnpm, as the package manager running the tests (its JS entry), from PATH, or through npx. */
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && basename(execpath).includes('pnpm')) {
    return /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []];
  }
  if (spawnSync('pnpm', ['--version']).status === 0) return ['pnpm', []];
  return ['npx', ['-y', 'pnpm@12.4.2']];
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command; never throws (the exit code is part of the result). */
function exec(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  return new Promise<Result>((resolveRun) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (error, stdout, stderr) =>
      resolveRun({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

function ok(result: Result, what: string): Result {
  if (result.code !== 0) throw new Error(`${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Every package folder under a node_modules tree: its name, version and folder. */
async function installedPackages(nodeModules: string): Promise<{ name: string; version: string; dir: string }[]> {
  const found: { name: string; version: string; dir: string }[] = [];
  const visit = async (modules: string) => {
    const entries = await readdir(modules, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const dirs = entry.name.startsWith('@')
        ? (await readdir(join(modules, entry.name))).map((child) => join(modules, entry.name, child))
        : [join(modules, entry.name)];
      for (const dir of dirs) {
        const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
        if (!manifest) continue;
        const { name, version } = JSON.parse(manifest) as Manifest;
        found.push({ name, version, dir });
        await visit(join(dir, 'node_modules'));
      }
    }
  };
  await visit(nodeModules);
  return found;
}

/** Bytes of every file under `dir` (symbolic links counted as links). */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeSize(path);
    else total += (await lstat(path)).size;
  }
  return total;
}

/** Every file path an `exports` map points at. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}

describe.skipIf(unreachable !== undefined)('llavakit from a real npm registry on loopback', () => {
  let dir: string;
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  let work: string;
  /** The released packages as published: name → manifest of the scratch copy after `changeset version`. */
  let published: Map<string, WorkspacePackage>;
  /** The versions the pending changesets would release (what a third party's ranges are written against). */
  let releaseVersions: Map<string, string>;
  let llavaBin: string;

  const llava = (args: readonly string[]) => exec(llavaBin, args, { cwd: work, env });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llava-registry-e2e-'));
    registry = await startRegistry(join(dir, 'registry'), upstream);
    for (const sub of ['home', 'xdg', 'npm-cache', 'prefix', 'work', 'llava']) await mkdir(join(dir, sub));
    work = join(dir, 'work');
    const npmrc = join(dir, 'home', '.npmrc');
    const host = registry.url.replace(/^http:/, '');
    await writeFile(npmrc, `registry=${registry.url}\n${host}:_authToken=${registry.token}\n`);
    await writeFile(join(dir, 'globalnpmrc'), '');
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key) && key !== 'PNPM_HOME'),
    );
    env = {
      ...inherited,
      HOME: join(dir, 'home'),
      XDG_CONFIG_HOME: join(dir, 'xdg', 'config'),
      XDG_CACHE_HOME: join(dir, 'xdg', 'cache'),
      XDG_DATA_HOME: join(dir, 'xdg', 'data'),
      XDG_STATE_HOME: join(dir, 'xdg', 'state'),
      npm_config_userconfig: npmrc,
      npm_config_globalconfig: join(dir, 'globalnpmrc'),
      npm_config_cache: join(dir, 'npm-cache'),
      npm_config_registry: registry.url,
      npm_config_prefix: join(dir, 'prefix'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      LLAVA_DATA_DIR: join(dir, 'llava', 'data'),
      LLAVA_CONFIG_DIR: join(dir, 'llava', 'config'),
      LLAVA_CACHE_DIR: join(dir, 'llava', 'cache'),
      NO_COLOR: '1',
    };

    // The release flow, in a scratch copy: version every package with a snapshot, publish them all with pnpm.
    const scratch = join(dir, 'scratch');
    await scratchCopy(scratch);
    const changeset = join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js');
    ok(await exec(process.execPath, [changeset, 'version', '--snapshot', 'e2e'], { cwd: scratch, env }), 'changeset');
    const [pnpm, prefix] = pnpmCommand();
    await writeFile(join(scratch, '.npmrc'), await readFile(npmrc, 'utf8'));
    ok(
      await exec(pnpm, [...prefix, 'publish', '-r', '--filter', '@llavakit/*', '--no-git-checks'], {
        cwd: scratch,
        env,
      }),
      'pnpm publish',
    );
    published = new Map(releasedPackages(await workspacePackages(scratch)).map((p) => [p.manifest.name, p]));
    // Snapshots are named after the version the pending changesets release (`snapshot.useCalculatedVersion`).
    releaseVersions = new Map([...published].map(([name, p]) => [name, p.manifest.version.replace(/-.*$/, '')]));
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes every public @llavakit package of the workspace, versioned by changesets', async () => {
    const expected = releasedPackages(await workspacePackages(repoRoot)).map((p) => p.manifest.name);
    expect([...published.keys()]).toEqual(expected);
    for (const [name, { manifest }] of published) {
      expect(manifest.version, name).toMatch(/^\d+\.\d+\.\d+-e2e-\d{14}$/);
      const packument = (await (await fetch(new URL(name.replace('/', '%2f'), registry.url))).json()) as {
        versions: Record<string, unknown>;
        'dist-tags': Record<string, string>;
      };
      expect(Object.keys(packument.versions), name).toEqual([manifest.version]);
    }
  });

  it('publishes tarballs that hold dist, types, README and LICENSE, no tests, and source maps that resolve', async () => {
    for (const [name, { manifest }] of published) {
      const packument = (await (await fetch(new URL(name.replace('/', '%2f'), registry.url))).json()) as {
        versions: Record<string, Manifest & { dist: { tarball: string } }>;
      };
      const meta = packument.versions[manifest.version]!;
      const tarball = join(dir, `${basename(name)}.tgz`);
      await writeFile(tarball, Buffer.from(await (await fetch(meta.dist.tarball)).arrayBuffer()));
      const unpacked = join(dir, 'unpacked', basename(name));
      await mkdir(unpacked, { recursive: true });
      ok(await exec('tar', ['-xzf', tarball, '-C', unpacked], { cwd: dir, env }), `tar of ${name}`);
      const root = join(unpacked, 'package');
      const files = await listFiles(root);
      const has = (path: string) => files.includes(posix.normalize(path.replace(/^\.\//, '')));

      for (const required of ['package.json', 'README.md', 'LICENSE'])
        expect.soft(has(required), `${name}: ${required}`).toBe(true);
      expect
        .soft(
          files.some((file) => file.startsWith('dist/')),
          `${name}: dist`,
        )
        .toBe(true);
      const types = manifest.types ?? (manifest.exports as { '.'?: { types?: string } } | undefined)?.['.']?.types;
      expect.soft(types, `${name}: types`).toMatch(/\.d\.ts$/);
      expect.soft(has(types!), `${name}: ${types}`).toBe(true);
      for (const target of exportTargets(manifest.exports))
        expect.soft(has(target), `${name}: export ${target}`).toBe(true);
      const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
      for (const bin of bins) expect.soft(has(bin), `${name}: bin ${bin}`).toBe(true);
      expect
        .soft(
          files.filter((file) => /\.test\.|(^|\/)(__fixtures__|fixtures)\/|test-utils|_testing|tsbuildinfo/.test(file)),
          `${name}: test files or build state`,
        )
        .toEqual([]);

      // Every source map points at files the tarball holds; every sourceMappingURL at a map it holds.
      for (const file of files) {
        if (file.endsWith('.map')) {
          const map = JSON.parse(await readFile(join(root, file), 'utf8')) as {
            sources: string[];
            sourceRoot?: string;
            sourcesContent?: (string | null)[];
          };
          map.sources.forEach((source, index) => {
            if (typeof map.sourcesContent?.[index] === 'string') return;
            const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
            expect.soft(has(target), `${name}: ${file} → ${source}`).toBe(true);
          });
        } else if (/\.(js|d\.ts)$/.test(file)) {
          const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(root, file), 'utf8'))?.[1];
          if (url && !url.startsWith('data:')) {
            expect.soft(has(posix.join(posix.dirname(file), url)), `${name}: ${file} → ${url}`).toBe(true);
          }
        }
      }

      // The published manifest names real versions: no workspace: range is left.
      expect.soft(JSON.stringify(meta), name).not.toContain('workspace:');
      for (const [dependency, range] of Object.entries(meta.dependencies ?? {})) {
        const own = published.get(dependency);
        if (own) expect.soft(range, `${name} → ${dependency}`).toBe(`^${own.manifest.version}`);
      }
    }
  });

  it('installs the CLI with `npm install -g @llavakit/cli`, with no dev dependency, and runs it', async () => {
    ok(await exec('npm', ['install', '-g', '@llavakit/cli'], { cwd: work, env }), 'npm install -g @llavakit/cli');
    llavaBin = join(dir, 'prefix', 'bin', 'llava');
    const cli = published.get('@llavakit/cli')!.manifest;

    const version = ok(await llava(['--version']), 'llava --version');
    expect(version.stdout).toMatch(new RegExp(`^@llavakit/cli/${cli.version.replace(/\./g, '\\.')} `));

    // Nothing that only builds or tests llavakit is installed: dev dependencies of the workspace stay out.
    const globalModules = join(dir, 'prefix', 'lib', 'node_modules');
    const installed = await installedPackages(globalModules);
    const workspace = [
      { manifest: JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as Manifest },
      ...(await workspacePackages(repoRoot)),
    ];
    const runtime = new Set(
      [...published.values()].flatMap(({ manifest }) => [
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]),
    );
    // @types/node arrives with @types/yauzl, a dependency of @llavakit/images (its declarations need it).
    const devOnly = new Set(
      workspace
        .flatMap(({ manifest }) => Object.keys(manifest.devDependencies ?? {}))
        .filter((name) => !runtime.has(name) && name !== '@types/node'),
    );
    expect(devOnly.size).toBeGreaterThan(5);
    expect(installed.filter((p) => devOnly.has(p.name)).map((p) => `${p.name}@${p.version}`)).toEqual([]);
    for (const name of published.keys()) {
      const copies = installed.filter((p) => p.name === name);
      if (copies.length > 0)
        expect(
          copies.map((p) => p.version),
          name,
        ).toEqual([published.get(name)!.manifest.version]);
    }
    const size = await treeSize(globalModules);
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    const largest = (
      await Promise.all(
        installed
          .filter((p) => /\/node_modules\/(@[^/]+\/)?[^/]+$/.test(p.dir) && p.dir.split('node_modules').length === 3)
          .map(async (p) => ({ name: p.name, bytes: await treeSize(p.dir) })),
      )
    )
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 4);
    console.info(
      `installed size of @llavakit/cli ${cli.version}: ${mib(size)} (${size} bytes) in ${installed.length} packages; largest: ${largest.map((p) => `${p.name} ${mib(p.bytes)}`).join(', ')}`,
    );
    expect(size).toBeLessThan(60 * 1024 * 1024);

    // Convert the bundled sample to ShareGPT: the same bytes the workspace build writes, in LLaMA-Factory's shape.
    const output = join(work, 'sharegpt.json');
    const args = ['--to', 'sharegpt', '--image-root', join(sample, 'images'), '--json'];
    const converted = ok(await llava(['convert', join(sample, 'llava_sample.json'), ...args, '-o', output]), 'convert');
    expect(JSON.parse(converted.stdout)).toMatchObject({ to: 'sharegpt', read: 6, written: 6, rejected: 0 });
    const reference = join(dir, 'workspace-sharegpt.json');
    ok(
      await exec(
        process.execPath,
        [join(repoRoot, 'apps/cli/bin/run.js'), 'convert', join(sample, 'llava_sample.json'), ...args, '-o', reference],
        { cwd: work, env },
      ),
      'workspace convert',
    );
    const written = await readFile(output, 'utf8');
    expect(written).toBe(await readFile(reference, 'utf8'));
    const records = JSON.parse(written) as { conversations: { from: string; value: string }[]; images?: string[] }[];
    expect(records).toHaveLength(6);
    for (const record of records) {
      expect(record.conversations.length).toBeGreaterThan(0);
      for (const turn of record.conversations) expect(['human', 'gpt', 'system']).toContain(turn.from);
      for (const image of record.images ?? []) expect((await lstat(image)).isFile()).toBe(true);
    }

    // `llava formats`: every built-in format, with the version it comes from.
    const formats = ok(await llava(['formats']), 'llava formats');
    const builtinVersion = published.get('@llavakit/convert')!.manifest.version;
    for (const name of ['llava', 'sharegpt', 'openai', 'messages', 'swift']) {
      expect(formats.stdout).toMatch(new RegExp(`^${name}\\s.*builtin@${builtinVersion.replace(/\./g, '\\.')}$`, 'm'));
    }
    expect(formats.stderr).toBe('');
  });

  it('builds the example plugin from its own package.json against the registry, publishes it, installs it by name', async () => {
    const declared = JSON.parse(await readFile(join(pluginSource, 'package.json'), 'utf8')) as Manifest;
    expect(declared.private).toBeUndefined();
    // What a third party writes: published names with caret ranges of the release (no workspace links).
    const llavakitDeps = Object.entries({ ...declared.dependencies, ...declared.devDependencies }).filter(([name]) =>
      name.startsWith('@llavakit/'),
    );
    expect(llavakitDeps.length).toBeGreaterThan(0);
    for (const [name, range] of llavakitDeps) {
      expect(range, name).toBe(`^${releaseVersions.get(name)}`);
    }

    // A clean copy: the files the author commits, nothing built or installed.
    const build = join(dir, 'plugin');
    await mkdir(build);
    for (const entry of await readdir(pluginSource)) {
      if (['node_modules', 'dist', 'turbo.json', '.turbo'].includes(entry)) continue;
      await cp(join(pluginSource, entry), join(build, entry), { recursive: true });
    }
    // The registry holds snapshot prereleases of those versions, which no caret range admits: install them by
    // exact version (as `npm install -D @llavakit/format@<version>` would), everything else as declared.
    const snapshots = llavakitDeps.map(([name]) => `${name}@${published.get(name)!.manifest.version}`);
    ok(await exec('npm', ['install', '--save-dev', ...snapshots], { cwd: build, env }), 'npm install (plugin)');
    ok(await exec('npm', ['run', 'build'], { cwd: build, env }), 'npm run build (plugin)');
    const dryRun = ok(await exec('npm', ['pack', '--dry-run', '--json'], { cwd: build, env }), 'npm pack --dry-run');
    const packed = (JSON.parse(dryRun.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/hook.js', 'README.md', 'LICENSE', 'package.json']) {
      expect(packed).toContain(file);
    }
    expect(
      packed.filter((file) => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(file) || file.includes('.test.')),
    ).toEqual([]);
    ok(await exec('npm', ['publish'], { cwd: build, env }), 'npm publish (plugin)');

    const install = ok(await llava(['plugins', 'install', 'llavakit-format-webdataset']), 'plugins install');
    expect(install.stderr).not.toContain('may not work as expected');
    const plugins = ok(await llava(['plugins']), 'llava plugins');
    expect(plugins.stdout).toMatch(/llavakit-format-webdataset 1\.0\.0/);

    const listed = ok(await llava(['formats', '--json']), 'formats --json');
    expect((JSON.parse(listed.stdout) as { name: string }[]).find((f) => f.name === 'webdataset')).toMatchObject({
      writes: true,
      origin: { plugin: 'llavakit-format-webdataset', version: '1.0.0', via: 'oclif-plugin' },
    });

    const shards = join(work, 'shards');
    const converted = ok(
      await llava([
        'convert',
        join(sample, 'llava_sample.json'),
        '--to',
        'webdataset',
        '-o',
        shards,
        '-O',
        'shard-size=4',
        '--images',
        join(sample, 'images'),
      ]),
      'convert --to webdataset',
    );
    // The summary names no JSON container for tar shards.
    expect(converted.stderr).toContain(`→ webdataset (${shards})`);
    expect(converted.stderr).toMatch(/read 6, written 6, rejected 0/);
    // Read back with an independent reader: the system tar.
    expect((await readdir(shards)).sort()).toEqual(['shard-000000.tar', 'shard-000001.tar']);
    const members = async (shard: string) =>
      ok(await exec('tar', ['-tf', join(shards, shard)], { cwd: work, env }), 'tar')
        .stdout.trim()
        .split('\n');
    expect(await members('shard-000000.tar')).toEqual([
      '000000.jpg',
      '000000.json',
      '000001.jpg',
      '000001.json',
      '000002.jpg',
      '000002.json',
      '000003.png',
      '000003.json',
    ]);
    expect(await members('shard-000001.tar')).toEqual(['000004.png', '000004.json', '000005.json']);
    const source = JSON.parse(await readFile(join(sample, 'llava_sample.json'), 'utf8')) as Record<string, unknown>[];
    const first = ok(
      await exec('tar', ['-xOf', join(shards, 'shard-000000.tar'), '000000.json'], { cwd: work, env }),
      'tar -x',
    );
    expect(JSON.parse(first.stdout)).toEqual({ ...source[0], image: '000000.jpg' });
  });

  it("runs the plugin guide's commands (npm init, dependencies, build, pack) as a third party does", async () => {
    const guide = await readFile(join(repoRoot, 'docs/writing-a-plugin.md'), 'utf8');
    const section = guide.slice(guide.indexOf('## 1.'), guide.indexOf('## 2.'));
    const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    expect(script).toContain('npm init');
    const author = join(dir, 'author');
    await mkdir(author);
    ok(await exec('sh', ['-e', '-c', script!], { cwd: author, env }), 'the guide, step 1');
    const project = join(author, 'llavakit-format-webdataset');
    const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as Manifest & {
      oclif: unknown;
    };
    expect(manifest.oclif).toEqual({ hooks: { 'llava:formats': './dist/hook.js' } });
    expect(Object.keys(manifest.devDependencies ?? {})).toContain('@llavakit/format');
    expect(manifest.peerDependencies).toEqual({ zod: '^4.0.0' });
    // The sources the guide walks through, then the build and the pack check of step 6.
    await cp(join(pluginSource, 'src'), join(project, 'src'), { recursive: true });
    await cp(join(pluginSource, 'tsconfig.json'), join(project, 'tsconfig.json'));
    await writeFile(join(project, 'README.md'), '# llavakit-format-webdataset\n');
    await cp(join(pluginSource, 'LICENSE'), join(project, 'LICENSE'));
    ok(await exec('npm', ['run', 'build'], { cwd: project, env }), 'npm run build (guide)');
    const dryRun = ok(await exec('npm', ['pack', '--dry-run', '--json'], { cwd: project, env }), 'npm pack (guide)');
    const files = (JSON.parse(dryRun.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/hook.js', 'dist/index.d.ts', 'LICENSE']));
    expect(files.filter((file) => file.startsWith('src/') || file.includes('.test.'))).toEqual([]);
  });

  it('warns about a broken plugin by name and keeps working; uninstalls the example plugin', async () => {
    // A third-party package whose formats hook throws as soon as it is loaded.
    const broken = join(dir, 'broken');
    await mkdir(broken);
    await writeFile(
      join(broken, 'package.json'),
      JSON.stringify(
        {
          name: 'llavakit-format-broken',
          version: '0.1.0',
          type: 'module',
          license: 'MIT',
          keywords: ['llavakit-format', 'oclif-plugin'],
          files: ['hook.js'],
          oclif: { hooks: { 'llava:formats': './hook.js' } },
        },
        null,
        2,
      ),
    );
    await writeFile(join(broken, 'hook.js'), "throw new Error('this hook is broken on purpose');\n");
    await writeFile(join(broken, 'README.md'), '# broken on purpose\n');
    ok(await exec('npm', ['publish'], { cwd: broken, env }), 'npm publish (broken)');
    ok(await llava(['plugins', 'install', 'llavakit-format-broken']), 'plugins install (broken)');

    const formats = await llava(['formats']);
    expect(formats.code, formats.stderr).toBe(0);
    expect(formats.stderr).toMatch(/warning/i);
    expect(formats.stderr).toContain('llavakit-format-broken');
    expect(formats.stdout).toMatch(/^sharegpt\s/m);
    expect(formats.stdout).toMatch(/^webdataset\s/m);
    const converted = await llava([
      'convert',
      join(sample, 'llava_sample.json'),
      '--to',
      'sharegpt',
      '-o',
      join(work, 'again.jsonl'),
      '--json',
    ]);
    expect(converted.code, converted.stderr).toBe(0);
    expect(JSON.parse(converted.stdout)).toMatchObject({ read: 6, written: 6 });
    expect(converted.stderr).toContain('llavakit-format-broken');
    expect(ok(await llava(['--version']), 'version').stdout).toContain('@llavakit/cli/');

    ok(await llava(['plugins', 'uninstall', 'llavakit-format-webdataset']), 'plugins uninstall');
    const after = ok(await llava(['plugins']), 'llava plugins');
    expect(after.stdout).not.toContain('llavakit-format-webdataset');
    const listed = ok(await llava(['formats', '--json']), 'formats --json');
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((f) => f.name)).not.toContain('webdataset');
    ok(await llava(['plugins', 'uninstall', 'llavakit-format-broken']), 'plugins uninstall (broken)');
    expect(ok(await llava(['formats']), 'formats').stderr).toBe('');
  });
});
