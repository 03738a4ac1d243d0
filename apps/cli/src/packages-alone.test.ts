import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from './test-utils.js';

/**
 * Every publishable package works on its own, as users get it: pack each one (pnpm rewrites `workspace:^` to
 * versions), install the tarballs with npm into an empty project, then import and use each package from ESM, from
 * CommonJS (`require` of ESM, Node 20.19+) and from a type-checked TypeScript file (NodeNext).
 */

const run = promisify(execFile);

/** One thing each library package does, from ESM; the script prints a JSON object of results. */
const esmUses: Record<string, string> = {
  '@llavakit/diagnostics': `
    const rules = diagnostics.defineRules({ demo: { id: 'demo/rule', severity: 'warning', title: 'Demo', hint: 'None.' } });
    out['@llavakit/diagnostics'] = diagnostics.formatDiagnostic(diagnostics.diagnose(rules.demo, { message: 'hello' }));`,
  '@llavakit/schema': `
    out['@llavakit/schema'] = schema.parseRecord(records[0]).ok;`,
  '@llavakit/reader': `
    let count = 0;
    for await (const item of reader.readRecords('sample.json')) if (item.ok) count++;
    out['@llavakit/reader'] = count;`,
  '@llavakit/images': `
    out['@llavakit/images'] = images.sniffImage(new Uint8Array(await readFile('images/000000100001.jpg'))).format;`,
  '@llavakit/prompts': `
    out['@llavakit/prompts'] = prompts.splitCustomId('detail:000000033471').kind;`,
  '@llavakit/format': `
    out['@llavakit/format'] = format.checkFormatPlugin(
      { specVersion: 1, name: 'tiny', encode: (r) => ({ ok: true, value: r }) }, 'consumer').ok;`,
  '@llavakit/convert': `
    const summary = await convert.convert({
      inputs: ['sample.json'], to: 'sharegpt', output: 'out.json', registry: convert.createBuiltinRegistry() });
    out['@llavakit/convert'] = summary.written;`,
  '@llavakit/writer': `
    out['@llavakit/writer'] = writer.convert === convert.convert;`,
  '@llavakit/view': `
    const viewer = await view.startViewer({ inputs: ['sample.json'], countTokens: false });
    const token = new URL(viewer.url).searchParams.get('token');
    const page = await fetch(new URL('/', viewer.url), { headers: { 'x-llava-token': token } });
    out['@llavakit/view'] = [viewer.index.count, page.status, (await page.text()).includes('/app.js')];
    await viewer.close();`,
  '@llavakit/ops': `
    const stats = await ops.computeStats({ inputs: ['sample.json'], registry: convert.createBuiltinRegistry() });
    out['@llavakit/ops'] = [stats.records, stats.tokens.p50 > 0];`,
  '@llavakit/format-parquet': `
    const registry = convert.createBuiltinRegistry().add(format_parquet.default, { plugin: 'consumer', via: 'builtin' });
    out['@llavakit/format-parquet'] = (await convert.convert({
      inputs: ['sample.json'], to: 'parquet', output: 'out.parquet', registry })).written;`,
  '@llavakit/cli': `
    out['@llavakit/cli'] = typeof cli;`,
};

/** What each use must print. */
const expected: Record<string, unknown> = {
  '@llavakit/diagnostics': expect.stringContaining('demo/rule'),
  '@llavakit/schema': true,
  '@llavakit/reader': 6,
  '@llavakit/images': 'jpeg',
  '@llavakit/prompts': 'detail',
  '@llavakit/format': true,
  '@llavakit/convert': 6,
  '@llavakit/writer': true,
  '@llavakit/view': [6, 200, true],
  '@llavakit/ops': [6, true],
  '@llavakit/format-parquet': 6,
  '@llavakit/cli': 'object',
};

function variable(name: string): string {
  return name.replace('@llavakit/', '').replaceAll('-', '_');
}

/** pnpm, as the running package manager or from PATH (it rewrites `workspace:^` ranges when packing). */
function pnpm(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && basename(execpath).includes('pnpm')) {
    return /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []];
  }
  if (spawnSync('pnpm', ['--version']).status === 0) return ['pnpm', []];
  return ['npx', ['-y', 'pnpm@12.4.2']];
}

/** The publishable workspace packages (not private) under packages/ and apps/. */
async function publishable(): Promise<{ name: string; dir: string }[]> {
  const found: { name: string; dir: string }[] = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of await readdir(join(repoRoot, group))) {
      const dir = join(repoRoot, group, entry);
      const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
      if (!manifest) continue;
      const json = JSON.parse(manifest) as { name: string; private?: boolean };
      if (!json.private) found.push({ name: json.name, dir });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

// Slow by nature (packing, an npm install from the registry, a full tsc run): generous timeouts, one run each.
describe('every publishable package, packed and installed alone with npm', { timeout: 240_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let packages: { name: string; dir: string }[];
  let project: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('llava-alone-'));
    packages = await publishable();
    const tarballs = join(dir, 'tarballs');
    await mkdir(tarballs);
    const [command, prefix] = pnpm();
    for (const { dir: packageDir } of packages) {
      // --ignore-scripts: the CLI's prepack (oclif manifest) would rewrite the manifest other tests are reading.
      await run(command, [...prefix, 'pack', '--ignore-scripts', '--pack-destination', tarballs], { cwd: packageDir });
    }
    project = join(dir, 'project');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'llavakit-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2),
    );
    await cp(join(repoRoot, 'examples/sample/llava_sample.json'), join(project, 'sample.json'));
    await cp(join(repoRoot, 'examples/sample/images'), join(project, 'images'), { recursive: true });
    const packed = (await readdir(tarballs)).map((file) => join(tarballs, file));
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', ...packed, 'zod@4.6.7', 'typescript@5.9.3', '@types/node@20'],
      { cwd: project, env: { ...process.env, npm_config_yes: 'true' }, maxBuffer: 16 * 1024 * 1024 },
    );
  }, 400_000);
  afterAll(() => cleanup());

  it('has a use for every publishable package (a new package must add one here)', () => {
    expect(packages.map((p) => p.name)).toEqual(Object.keys(esmUses).sort());
  });

  it('imports and uses each package from ESM', async () => {
    const script = [
      `import { readFile } from 'node:fs/promises';`,
      ...packages.map((p) => `import * as ${variable(p.name)} from '${p.name}';`),
      `const records = JSON.parse(await readFile('sample.json', 'utf8'));`,
      'const out = {};',
      ...packages.map((p) => esmUses[p.name]!),
      'console.log(JSON.stringify(out));',
    ].join('\n');
    await writeFile(join(project, 'use.mjs'), script);
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual(expected);
    const written = JSON.parse(await readFile(join(project, 'out.json'), 'utf8')) as unknown[];
    expect(written).toHaveLength(6);
  });

  it('requires each library package from CommonJS (require of ESM)', async () => {
    const libraries = packages.filter((p) => p.name !== '@llavakit/cli');
    const script = [
      `const assert = require('node:assert');`,
      ...libraries.map((p) => `const ${variable(p.name)} = require('${p.name}');`),
      `assert.strictEqual(schema.parseRecord({ conversations: [] }).ok, true);`,
      `assert.strictEqual(typeof diagnostics.diagnose, 'function');`,
      `assert.strictEqual(typeof reader.readRecords, 'function');`,
      `assert.strictEqual(images.sniffImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10])).format, 'png');`,
      `assert.strictEqual(prompts.splitCustomId('detail:7').id, '7');`,
      `assert.strictEqual(format.SPEC_VERSION, 1);`,
      `assert.ok(convert.createBuiltinRegistry().get('sharegpt'));`,
      `assert.strictEqual(view.createLlamaTokenCounter().count('Hello, my dog is cute'), 7);`,
      `assert.strictEqual(ops.imageTokens('llava-1.5-336'), 576);`,
      `assert.strictEqual(format_parquet.parquetFormat.name, 'parquet');`,
      `console.log(${JSON.stringify(libraries.map((p) => p.name))}.length);`,
    ].join('\n');
    await writeFile(join(project, 'use.cjs'), script);
    const { stdout } = await run(process.execPath, ['use.cjs'], { cwd: project });
    expect(Number(stdout.trim())).toBe(libraries.length);
  });

  it('type-checks a consumer written in TypeScript (NodeNext) against the published declarations', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      join(project, 'consumer.ts'),
      `import type { Diagnostic } from '@llavakit/diagnostics';
import { type FormatPlugin, defineFormat } from '@llavakit/format';
import { describeOptions } from '@llavakit/convert';
import { readRecords } from '@llavakit/reader';
import { type LlavaRecord, parseRecord } from '@llavakit/schema';
import { convert, createBuiltinRegistry, type ConvertSummary } from '@llavakit/convert';
import { sniffImage } from '@llavakit/images';
import { splitCustomId } from '@llavakit/prompts';
import { type StatsResult, computeStats } from '@llavakit/ops';
import * as z from 'zod';

const upper = defineFormat({
  specVersion: 1,
  name: 'upper',
  optionsSchema: z.object({ shout: z.boolean().default(true).describe('Upper-case the answers') }),
  encode: (record: LlavaRecord, { options }) => {
    const shout: boolean = options.shout;
    return { ok: true, value: record.conversations.map((t) => (shout ? t.value.toUpperCase() : t.value)) };
  },
});
const plugin: FormatPlugin<{ shout: boolean }> = upper;
const registry = createBuiltinRegistry().add(plugin as FormatPlugin<object>, { plugin: 'consumer', via: 'specifier' });
const summary: ConvertSummary = await convert({ inputs: ['sample.json'], to: 'upper', output: 'upper.json', registry });
const notes: Diagnostic[] = [];
for await (const item of readRecords('sample.json')) if (!item.ok) notes.push(item.diagnostic);
const parsed = parseRecord({ conversations: [] });
const requestKind: string | undefined = splitCustomId('conversation:1')?.kind;
const kind: string = sniffImage(new Uint8Array(8)).format;
const stats: StatsResult = await computeStats({ inputs: ['sample.json'], registry });
const p99: number | null | undefined = stats.tokens?.p99;
console.log(summary.written, notes.length, parsed.ok, requestKind, kind, p99, describeOptions(upper.optionsSchema)[0]?.flag);
// @ts-expect-error the reader takes an input, so the declarations really are checked
readRecords();
`,
    );
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch(
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? 'failed',
      }),
    );
    expect(`${result.stdout}${result.stderr}`).toBe('');
  });

  it('runs the installed `llava` binary', async () => {
    const bin = join(project, 'node_modules', '.bin', 'llava');
    const version = await run(bin, ['--version'], { cwd: project });
    expect(version.stdout).toMatch(/^@llavakit\/cli\/\d+\.\d+\.\d+/);
    const formats = await run(bin, ['formats', '--json'], {
      cwd: project,
      env: { ...process.env, LLAVA_DATA_DIR: join(dir, 'data'), LLAVA_CONFIG_DIR: join(dir, 'config') },
    });
    expect((JSON.parse(formats.stdout) as { name: string }[]).map((f) => f.name)).toContain('sharegpt');
    const converted = await run(bin, ['convert', 'sample.json', '--to', 'sharegpt', '-o', 'cli.jsonl', '--json'], {
      cwd: project,
      env: { ...process.env, LLAVA_DATA_DIR: join(dir, 'data'), LLAVA_CONFIG_DIR: join(dir, 'config') },
    });
    expect(JSON.parse(converted.stdout)).toMatchObject({ read: 6, written: 6 });
  });
});
