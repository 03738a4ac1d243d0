import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import type { FormatPlugin } from '@llavakit/format';
import { checkFormatPlugin, formatRules } from '@llavakit/format';
import type { FormatOrigin, FormatRegistry } from './registry.js';
import { PLUGIN_TIMEOUT_MS, probeImport, withDeadline } from './wall.js';

/** Options of {@link loadFormatPlugin}. */
export interface LoadPluginOptions {
  /** Folder package names are resolved from. Default `process.cwd()`. */
  readonly cwd?: string;
  /**
   * Time limit of the plugin's import, in ms (default 10000). The plugin is first imported in a worker thread with
   * this deadline, so one that loops forever at import is stopped there and never imported by the caller.
   */
  readonly timeoutMs?: number;
}

/** The prefix that short plugin names expand to: `webdataset` → `llavakit-format-webdataset`. */
export const PLUGIN_PREFIX = 'llavakit-format-';

/** A plugin loaded from a specifier: its formats and where they came from, or why it could not be used. */
export type LoadedPlugin =
  | {
      readonly ok: true;
      readonly formats: FormatPlugin<object>[];
      readonly origin: FormatOrigin;
      /** Entries of the plugin's export that are not valid formats (the valid ones still load). */
      readonly diagnostics?: Diagnostic[];
    }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** True when a specifier names a file or folder rather than a package. */
function isPathLike(specifier: string): boolean {
  return (
    specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:') || isAbsolute(specifier)
  );
}

/**
 * The package names or paths to try for a `--plugin` specifier, in order. Paths are kept as they are; a short name
 * (`webdataset`) expands to `llavakit-format-webdataset` and then itself; a scoped short name (`@acme/webdataset`)
 * to `@acme/llavakit-format-webdataset` and then itself; full names are kept.
 *
 * @example
 * ```ts
 * pluginCandidates('webdataset'); // ['llavakit-format-webdataset', 'webdataset']
 * pluginCandidates('./my-format.js'); // ['./my-format.js']
 * ```
 */
export function pluginCandidates(specifier: string): string[] {
  if (isPathLike(specifier)) return [specifier];
  const scoped = /^(@[^/]+)\/(.+)$/.exec(specifier);
  const base = scoped ? scoped[2]! : specifier;
  if (base.startsWith(PLUGIN_PREFIX)) return [specifier];
  const expanded = scoped ? `${scoped[1]}/${PLUGIN_PREFIX}${base}` : `${PLUGIN_PREFIX}${base}`;
  return [expanded, specifier];
}

interface Resolved {
  readonly file: string;
  readonly packageRoot?: string;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Pick the ESM entry of a package from its `exports` (import/node/default conditions) or `main`. */
function entryOf(root: string, manifest: Record<string, unknown>): string | undefined {
  let target: unknown = manifest.exports;
  if (target && typeof target === 'object' && !Array.isArray(target) && '.' in target) {
    target = (target as Record<string, unknown>)['.'];
  }
  for (let depth = 0; depth < 5 && target && typeof target === 'object' && !Array.isArray(target); depth++) {
    const conditions = target as Record<string, unknown>;
    target = conditions.import ?? conditions.node ?? conditions.default;
  }
  if (typeof target === 'string') return join(root, target);
  if (typeof manifest.main === 'string') return join(root, manifest.main);
  return join(root, 'index.js');
}

/** Find `node_modules/<name>` from `cwd` upwards. */
function findPackage(name: string, cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The nearest folder at or above `file` holding a package.json with a name. */
function packageRootOf(file: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    const manifest = readJson(join(dir, 'package.json'));
    if (manifest && typeof manifest.name === 'string') return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function resolveSpecifier(specifier: string, cwd: string): Resolved | undefined {
  if (isPathLike(specifier)) {
    const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(cwd, specifier);
    if (!existsSync(path)) return undefined;
    if (statSync(path).isDirectory()) {
      const manifest = readJson(join(path, 'package.json'));
      if (manifest) {
        const entry = entryOf(path, manifest);
        return entry ? { file: entry, packageRoot: path } : undefined;
      }
      return { file: join(path, 'index.js') };
    }
    // A file is named after its package only when it is that package's entry point; a loose file keeps its path.
    const root = packageRootOf(path);
    const manifest = root ? readJson(join(root, 'package.json')) : undefined;
    const isEntry = root && manifest && resolve(entryOf(root, manifest) ?? '') === resolve(path);
    return isEntry ? { file: path, packageRoot: root } : { file: path };
  }
  try {
    const file = createRequire(join(resolve(cwd), 'noop.js')).resolve(specifier);
    const root = packageRootOf(file);
    return root ? { file, packageRoot: root } : { file };
  } catch {
    // ESM-only packages whose exports have no `require`/`default` condition: resolve by hand.
  }
  const root = findPackage(specifier, cwd);
  if (!root) return undefined;
  const manifest = readJson(join(root, 'package.json')) ?? {};
  const entry = entryOf(root, manifest);
  return entry ? { file: entry, packageRoot: root } : undefined;
}

/**
 * Load the format plugin named by a specifier (a path, a package name or a short name), resolved from `cwd`:
 * import it (first in a worker thread with a deadline, see {@link probeImport}; then here, with the same deadline),
 * unwrap its default export (a format or an array of formats) and check each format against the contract, keeping
 * a snapshot of it. Never throws and never hangs: a missing package, an import that throws, loops or never
 * settles, a throwing getter, a wrong shape or an unsupported `specVersion` comes back as diagnostics naming the
 * plugin.
 *
 * @example
 * ```ts
 * const loaded = await loadFormatPlugin('webdataset', { cwd: process.cwd() });
 * if (loaded.ok) for (const format of loaded.formats) registry.add(format, loaded.origin);
 * ```
 */
export async function loadFormatPlugin(specifier: string, options: LoadPluginOptions = {}): Promise<LoadedPlugin> {
  const cwd = options.cwd ?? process.cwd();
  const candidates = pluginCandidates(specifier);
  let resolved: Resolved | undefined;
  for (const candidate of candidates) {
    resolved = resolveSpecifier(candidate, cwd);
    if (resolved) break;
  }
  if (!resolved) {
    return {
      ok: false,
      diagnostics: [
        diagnose(formatRules.loadFailed, {
          message: `Cannot find plugin "${specifier}" from ${cwd} (tried ${candidates.join(', ')}).`,
          source: specifier,
        }),
      ],
    };
  }
  const manifest = resolved.packageRoot ? readJson(join(resolved.packageRoot, 'package.json')) : undefined;
  const plugin = typeof manifest?.name === 'string' ? manifest.name : specifier;
  const version = typeof manifest?.version === 'string' ? manifest.version : undefined;
  const failed = (reason: string): LoadedPlugin => ({
    ok: false,
    diagnostics: [
      diagnose(formatRules.loadFailed, {
        message: `Cannot import plugin ${plugin} (${resolved.file}): ${reason}`,
        source: plugin,
      }),
    ],
  });
  const url = pathToFileURL(resolved.file).href;
  const timeoutMs = options.timeoutMs ?? PLUGIN_TIMEOUT_MS;
  const probe = await probeImport(url, { timeoutMs });
  if (!probe.ok) return failed(probe.reason);
  let namespace: unknown;
  try {
    namespace = await withDeadline(import(url), timeoutMs, 'its import');
  } catch (error) {
    return failed(messageOf(error));
  }
  const { formats, diagnostics } = formatsOfExport(namespace, plugin);
  if (formats.length === 0) return { ok: false, diagnostics };
  return {
    ok: true,
    formats,
    origin: { plugin, ...(version !== undefined ? { version } : {}), via: 'specifier', file: resolved.file },
    ...(diagnostics.length > 0 ? { diagnostics } : {}),
  };
}

/**
 * Load plugins by specifier into a registry (in order, so later plugins win). Returns the diagnostics of the plugins
 * that could not be used; the others are registered.
 */
export async function loadFormatPlugins(
  registry: FormatRegistry,
  specifiers: readonly string[],
  options: LoadPluginOptions = {},
): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  // Probed and imported side by side (a stuck one costs its deadline once, not once per plugin), registered in order.
  const all = await Promise.all(specifiers.map((specifier) => loadFormatPlugin(specifier, options)));
  for (const loaded of all) {
    if (!loaded.ok) {
      diagnostics.push(...loaded.diagnostics);
      continue;
    }
    if (loaded.diagnostics) diagnostics.push(...loaded.diagnostics);
    for (const format of loaded.formats) registry.add(format, loaded.origin);
  }
  return diagnostics;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}

/**
 * The formats of a module's export (a format, an array of formats, or a namespace whose default is one of those),
 * each checked and snapshotted; the entries that are not formats come back as diagnostics. Never throws, whatever
 * getters or proxies the export holds.
 */
export function formatsOfExport(
  exported: unknown,
  plugin: string,
): { formats: FormatPlugin<object>[]; diagnostics: Diagnostic[] } {
  const formats: FormatPlugin<object>[] = [];
  const diagnostics: Diagnostic[] = [];
  let list: unknown[];
  try {
    let value = exported;
    for (let i = 0; i < 2 && isObject(value) && 'default' in value && !('specVersion' in value); i++) {
      value = value.default;
    }
    list = Array.isArray(value) ? [...value] : [value];
  } catch (error) {
    diagnostics.push(
      diagnose(formatRules.invalidPlugin, {
        message: `${plugin} exports something that throws when read: ${messageOf(error)}`,
        source: plugin,
      }),
    );
    return { formats, diagnostics };
  }
  for (const candidate of list) {
    const check = checkFormatPlugin(candidate, plugin);
    if (check.ok) formats.push(check.format);
    else diagnostics.push(check.diagnostic);
  }
  return { formats, diagnostics };
}
