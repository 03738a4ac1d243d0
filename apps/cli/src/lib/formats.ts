import type { Diagnostic } from '@llavakit/diagnostics';
import type { FormatRegistry } from '@llavakit/format';
import { createBuiltinRegistry } from '@llavakit/writer';
import type { Config } from '@oclif/core';

/** The custom oclif hook a format plugin answers with its formats. */
export const FORMATS_HOOK = 'llava:formats';

/**
 * Build the registry of formats for a command: the built-ins, then every format contributed by installed or
 * linked oclif plugins through the `llava:formats` hook. A plugin that throws or returns something that is not a
 * format is reported (with its name and the reason) and skipped; the others still load.
 */
export async function loadFormats(
  config: Config,
  _options: { plugins?: readonly string[] } = {},
): Promise<{ registry: FormatRegistry; diagnostics: Diagnostic[] }> {
  const registry = createBuiltinRegistry();
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
  const diagnostics: Diagnostic[] = [...registry.diagnostics];
  for (const failure of result.failures as { plugin: { name: string }; error: Error }[]) {
    diagnostics.push({
      ruleId: 'plugin/load-failed',
      severity: 'warning',
      message: `Plugin ${failure.plugin.name} failed to provide formats: ${failure.error?.message ?? String(failure.error)}`,
      hint: 'Reinstall or update the plugin (`llava plugins`), or uninstall it.',
      source: failure.plugin.name,
    });
  }
  return { registry, diagnostics };
}
