import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { canRead, canWrite, type FormatPlugin, formatRules } from '@llavakit/format';
import { type OptionArgument, resolveFormatOptions, unknownOptionArguments } from '../plugins/options.js';
import type { FormatRegistry } from '../plugins/registry.js';
import type { ConvertOptions } from './convert.js';
import { checkRunPaths } from './paths.js';

/**
 * The usage checks of a conversion, before anything is read or written: `from` names a readable format, every `-O`
 * name is known to a format of the run, the target's options parse, and the run's paths do not collide. Throws a
 * `DiagnosticError` (a usage error); returns the target's parsed options.
 */
export async function preflight(options: ConvertOptions, targetFormat: FormatPlugin<object>): Promise<object> {
  if (options.from !== undefined) namedFormat(options.registry, options.from, 'read');
  const optionArguments = options.optionArguments ?? [];
  if (optionArguments.length > 0) {
    // `-O` goes to the target only; a reader's options come with `readOptions` (`--read-option`).
    const unknown = unknownOptionArguments(optionArguments, [targetFormat]);
    if (unknown) {
      throw new DiagnosticError(
        diagnose(formatRules.unknownOption, {
          message: unknown,
          hint: `Run \`llava formats ${targetFormat.name}\` to see its options.`,
        }),
      );
    }
  }
  await checkRunPaths({
    inputs: [
      ...options.inputs.map((path) => ({ flag: 'input', path })),
      ...(options.metadata ? [{ flag: '--metadata', path: options.metadata.path }] : []),
    ],
    outputs: [
      { flag: '-o', path: options.output },
      ...(options.rejects !== undefined ? [{ flag: '--rejects', path: options.rejects }] : []),
      ...(options.otherOutputs ?? []),
    ],
    ...(options.allowInputOverwrite ? { allowInputOverwrite: true } : {}),
  });
  return parseOptions(targetFormat, options.formatOptions, optionArguments);
}

/**
 * The format named by `--from` (`read`) or `--to` (`write`): a `format/unknown` usage error when the registry has no
 * such format, or when it cannot read (or write), listing the formats that can.
 */
export function namedFormat(
  registry: FormatRegistry,
  name: string,
  role: 'read' | 'write',
  file?: string,
): FormatPlugin<object> {
  const can = role === 'read' ? canRead : canWrite;
  const entry = registry.get(name);
  if (entry && can(entry.format)) return entry.format;
  const able = registry
    .list()
    .filter((f) => can(f.format))
    .map((f) => f.format.name);
  throw new DiagnosticError(
    diagnose(formatRules.unknownFormat, {
      message: entry ? `Format "${name}" cannot ${role}.` : `No format named "${name}". Known: ${able.join(', ')}.`,
      ...(file !== undefined ? { file } : {}),
    }),
  );
}

/**
 * Parse a format's options from values and `-O`-style arguments; a refusal is an `options/invalid` usage error that
 * names the option as typed and the side (`input` or `output`) whose format refused it.
 */
export function parseOptions(
  format: FormatPlugin<object>,
  values: Readonly<Record<string, unknown>> | undefined,
  args: readonly OptionArgument[],
  role: 'input' | 'output' = 'output',
): object {
  const resolved = resolveFormatOptions(format, { ...(values ? { values } : {}), args });
  if (resolved.ok) return resolved.options;
  throw new DiagnosticError(
    diagnose(formatRules.invalidOption, {
      // say which side of the conversion refused: the reader's options and the writer's are checked separately
      message: resolved.problem.message.replace(`of format "${format.name}"`, `of the ${role} format "${format.name}"`),
      hint: `Run \`llava formats ${format.name}\` to see its options.`,
    }),
  );
}
