import { cp, mkdir, readdir, readFile, realpath, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this package is `tools/registry-e2e`). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The fields of a package manifest this test reads. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** A workspace package: its folder (relative to the workspace root) and manifest. */
export interface WorkspacePackage {
  readonly dir: string;
  readonly manifest: Manifest;
}

/** Every workspace package of the workspace at `root`, from the `packages` globs of its `pnpm-workspace.yaml`. */
export async function workspacePackages(root: string): Promise<WorkspacePackage[]> {
  const yaml = await readFile(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^packages:\n((?:[ \t]+-.*\n)+)/m.exec(yaml)?.[1] ?? '';
  const globs = [...block.matchAll(/-\s*["']?([^"'\n]+?)["']?\s*$/gm)].map((match) => match[1]!);
  const found: WorkspacePackage[] = [];
  for (const glob of globs) {
    if (!/^[\w.-]+\/\*$/.test(glob)) throw new Error(`Unsupported workspace glob "${glob}" (expected <folder>/*)`);
    const parent = glob.slice(0, -2);
    for (const entry of (await readdir(join(root, parent), { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const dir = join(parent, entry.name);
      const text = await readFile(join(root, dir, 'package.json'), 'utf8').catch(() => undefined);
      if (text) found.push({ dir, manifest: JSON.parse(text) as Manifest });
    }
  }
  return found.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

/** The packages llavakit releases: public `@llavakit/*` workspace packages. */
export function releasedPackages(packages: readonly WorkspacePackage[]): WorkspacePackage[] {
  return packages.filter((p) => !p.manifest.private && p.manifest.name.startsWith('@llavakit/'));
}

/** What a scratch copy leaves out: installs, caches, generated data and local outputs. */
const SKIPPED = new Set(['node_modules', '.git', '.turbo', 'coverage', 'out', '.data', '.bench']);

/**
 * Copy the work tree (with its built `dist` folders) to `target`, leaving the real tree untouched. `node_modules`
 * is not copied: the root one is linked (for the changesets CLI and its changelog module), and each package's is
 * rebuilt from links: its workspace dependencies point at the *copied* packages (what pnpm reads to turn `workspace:`
 * ranges into versions when it publishes), everything else at the installed packages (for lifecycle scripts such
 * as the CLI's `prepack`).
 */
export async function scratchCopy(target: string): Promise<void> {
  await cp(repoRoot, target, {
    recursive: true,
    filter: (source) => {
      const name = basename(source);
      if (SKIPPED.has(name) || name.endsWith('.tgz') || name.startsWith('.llava-tmp-')) return false;
      return name !== '.vitest-report.json';
    },
  });
  await symlink(join(repoRoot, 'node_modules'), join(target, 'node_modules'), 'dir');
  const packages = await workspacePackages(target);
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  for (const { dir } of packages) {
    const real = join(repoRoot, dir, 'node_modules');
    const copy = join(target, dir, 'node_modules');
    const link = async (name: string) => {
      const workspace = byName.get(name);
      const to = join(copy, name);
      await mkdir(dirname(to), { recursive: true });
      if (workspace) await symlink(relative(dirname(to), join(target, workspace.dir)), to, 'dir');
      else await symlink(await realpath(join(real, name)), to, 'dir');
    };
    for (const entry of await readdir(real).catch(() => [] as string[])) {
      // The bin shims point at ../<package>/…, which the links below provide.
      if (entry === '.bin') await cp(join(real, entry), join(copy, entry), { recursive: true });
      else if (entry.startsWith('.')) continue;
      else if (entry.startsWith('@'))
        for (const child of await readdir(join(real, entry))) await link(`${entry}/${child}`);
      else await link(entry);
    }
  }
}

/** Every file under `dir` (relative paths, `/`-separated), not following symbolic links. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (sub: string) => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const path = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else out.push(path);
    }
  };
  await walk('');
  return out.sort();
}
