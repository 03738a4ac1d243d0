import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  builtinFormats,
  createBuiltinRegistry,
  type FormatRegistry,
  formatOptionsHelp,
  formatsOfExport,
  loadFormatPlugins,
  PLUGIN_TIMEOUT_MS,
  probeImport,
} from '@llavakit/convert';
import type { Diagnostic } from '@llavakit/diagnostics';
import { type Config, Flags } from '@oclif/core';

/** The custom oclif hook a format plugin answers with its formats (one format or an array). */
export const FORMATS_HOOK = 'llava:formats';

/** The `--plugin` flag shared by every command that uses formats. */
export const pluginFlag = Flags.string({
  multiple: true,
  summary: 'Load a format plugin from a path or package name (short names expand to llavakit-format-<name>).',
});

/**
 * Build the registry of formats for a command, in this order (later ones win on equal names):
 * 1. the built-ins;
 * 2. every format contributed by installed or linked oclif plugins through the `llava:formats` hook;
 * 3. the plugins named by `--plugin` specifiers (paths or package names, resolved from `cwd`).
 *
 * A plugin that throws, exports something that is not a format or declares an unsupported `specVersion` is
 * reported (with its name and the reason, as a warning) and skipped; the others still load. Plugins are walled
 * off: each hook module and `--plugin` file is first imported in a worker thread with a deadline (one that loops at
 * import is stopped there and never imported here), and a hook that does not resolve in time is a failure. The
 * limit is {@link pluginTimeoutMs}.
 */
export async function loadFormats(
  config: Config,
  options: { plugins?: readonly string[]; cwd?: string } = {},
): Promise<{ registry: FormatRegistry; diagnostics: Diagnostic[] }> {
  const registry = createBuiltinRegistry();
  const diagnostics: Diagnostic[] = [];
  const timeoutMs = pluginTimeoutMs();
  diagnostics.push(...(await probeHookPlugins(config, timeoutMs)));
  // oclif's hook timer is unref'd: a hook that never settles would let the process exit (code 13) mid-command.
  const keepAlive = setTimeout(() => undefined, timeoutMs + 1000);
  const result = await config.runHook(FORMATS_HOOK as never, {} as never, timeoutMs, true).finally(() => {
    clearTimeout(keepAlive);
  });
  for (const success of result.successes as { plugin: { name: string; version: string }; result: unknown }[]) {
    const origin = { plugin: success.plugin.name, version: success.plugin.version, via: 'oclif-plugin' as const };
    if (success.result === undefined) continue;
    const { formats, diagnostics: problems } = formatsOfExport(success.result, origin.plugin);
    for (const format of formats) registry.add(format, origin);
    registry.diagnostics.push(...problems);
  }
  for (const failure of result.failures as { plugin: { name: string }; error: Error }[]) {
    let reason: string;
    try {
      reason = failure.error?.message ?? String(failure.error);
    } catch {
      reason = 'an unprintable error';
    }
    diagnostics.push(hookFailure(failure.plugin.name, reason));
  }
  const fromSpecifiers = await loadFormatPlugins(registry, options.plugins ?? [], {
    cwd: options.cwd ?? process.cwd(),
    timeoutMs,
  });
  // Plugin problems never stop the CLI: they are warnings, and the other formats stay usable.
  for (const diagnostic of [...registry.diagnostics, ...fromSpecifiers]) {
    diagnostics.push(diagnostic.severity === 'error' ? { ...diagnostic, severity: 'warning' } : diagnostic);
  }
  return { registry, diagnostics };
}

/**
 * The time limit of a plugin's import, its `llava:formats` hook, and each asynchronous `encode`, in ms: the
 * `LLAVA_PLUGIN_TIMEOUT_MS` environment variable, else 10000.
 */
export function pluginTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.LLAVA_PLUGIN_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : PLUGIN_TIMEOUT_MS;
}

/**
 * Import the `llava:formats` hook module of every oclif plugin in a worker thread first (in parallel, with the
 * deadline): a plugin whose module throws, loops or never finishes loading is reported, and its hook is taken out
 * so the command never imports it.
 */
async function probeHookPlugins(config: Config, timeoutMs: number): Promise<Diagnostic[]> {
  const found: Diagnostic[] = [];
  await Promise.all(
    config.getPluginsList().map(async (plugin) => {
      // The CLI's own core plugins (@llavakit/format-parquet) ship and are tested with it: no probe thread for them.
      if (plugin.type === 'core') return;
      const hooks = (plugin.hooks as Record<string, unknown[] | undefined>)[FORMATS_HOOK];
      if (!Array.isArray(hooks) || hooks.length === 0) return;
      for (const hook of hooks) {
        const target = typeof hook === 'string' ? hook : (hook as { target?: unknown }).target;
        if (typeof target !== 'string') continue;
        const file = hookFile(plugin.root, target);
        if (!file) continue; // left to oclif (e.g. a TypeScript source it maps itself)
        const probe = await probeImport(pathToFileURL(file).href, { timeoutMs });
        if (probe.ok) continue;
        (plugin.hooks as Record<string, unknown[]>)[FORMATS_HOOK] = [];
        found.push(hookFailure(plugin.name, probe.reason));
        return;
      }
    }),
  );
  return found;
}

function hookFile(root: string, target: string): string | undefined {
  const base = join(root, target);
  for (const candidate of extname(base) ? [base] : [`${base}.js`, `${base}.mjs`, `${base}.cjs`, base]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function hookFailure(plugin: string, reason: string): Diagnostic {
  return {
    ruleId: 'plugin/load-failed',
    severity: 'warning',
    message: `Plugin ${plugin} failed to provide formats: ${reason}`,
    hint: 'Reinstall or update the plugin (`llava plugins`), or uninstall it.',
    source: plugin,
  };
}

/**
 * Help text listing the options of the built-in formats, generated from their `optionsSchema` (for static
 * `--help` text, which oclif builds before plugins load). Plugin formats: `llava formats <name>`.
 */
export function builtinFormatOptionsHelp(): string {
  const text = formatOptionsHelp(builtinFormats);
  const footer = 'Options of plugin formats: `llava formats <name>`.';
  return text ? `${text}\n\n${footer}` : footer;
}
