import type { Diagnostic } from '@llavakit/diagnostics';
import { type FormatRegistry, formatOptionsHelp, loadFormatPlugins } from '@llavakit/format';
import { builtinFormats, createBuiltinRegistry } from '@llavakit/writer';
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
 * reported (with its name and the reason, as a warning) and skipped; the others still load.
 */
export async function loadFormats(
  config: Config,
  options: { plugins?: readonly string[]; cwd?: string } = {},
): Promise<{ registry: FormatRegistry; diagnostics: Diagnostic[] }> {
  const registry = createBuiltinRegistry();
  const diagnostics: Diagnostic[] = [];
  const result = await config.runHook(FORMATS_HOOK as never, {} as never);
  for (const success of result.successes as { plugin: { name: string; version: string }; result: unknown }[]) {
    const contributed = Array.isArray(success.result) ? success.result : [success.result];
    for (const candidate of contributed) {
      if (candidate === undefined) continue;
      registry.addCandidate(candidate, {
        plugin: success.plugin.name,
        version: success.plugin.version,
        via: 'oclif-plugin',
      });
    }
  }
  for (const failure of result.failures as { plugin: { name: string }; error: Error }[]) {
    diagnostics.push({
      ruleId: 'plugin/load-failed',
      severity: 'warning',
      message: `Plugin ${failure.plugin.name} failed to provide formats: ${failure.error?.message ?? String(failure.error)}`,
      hint: 'Reinstall or update the plugin (`llava plugins`), or uninstall it.',
      source: failure.plugin.name,
    });
  }
  const fromSpecifiers = await loadFormatPlugins(registry, options.plugins ?? [], {
    cwd: options.cwd ?? process.cwd(),
  });
  // Plugin problems never stop the CLI: they are warnings, and the other formats stay usable.
  for (const diagnostic of [...registry.diagnostics, ...fromSpecifiers]) {
    diagnostics.push(diagnostic.severity === 'error' ? { ...diagnostic, severity: 'warning' } : diagnostic);
  }
  return { registry, diagnostics };
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
