import { type FormatRegistry, signalExitCode } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError, exitCodeOf, formatDiagnostic } from '@llavakit/diagnostics';
import { type OpProgress, type OpSummary, renderOpSummary } from '@llavakit/ops';
import { type Command, type Config, Flags } from '@oclif/core';
import { loadFormats, pluginFlag } from './formats.js';
import { createProgress, formatCount, type Progress } from './progress.js';

/** Flags shared by the data-prep commands (filter, mix, split, sample, dedup). */
export const opsFlags = {
  from: Flags.string({ char: 'f', summary: 'Input format; detected from each file when omitted.' }),
  to: Flags.string({ char: 't', summary: 'Output format (default llava: records written as read).', default: 'llava' }),
  container: Flags.option({
    options: ['json', 'jsonl'] as const,
    summary: 'JSON array or JSON Lines output (default: from the extension).',
  })(),
  rejects: Flags.string({ summary: 'Write every record not written, with the reason, to this JSONL file.' }),
  option: Flags.string({
    char: 'O',
    multiple: true,
    summary: 'Format option as key=value (repeatable); see `llava formats <name>`.',
  }),
  plugin: pluginFlag,
  json: Flags.boolean({ summary: 'Print the summary as JSON (on stdout, or on stderr when the output is stdout).' }),
  quiet: Flags.boolean({ char: 'q', summary: 'Print no summary.' }),
};

/** The parsed shared flags. */
export interface OpsFlagValues {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly container?: 'json' | 'jsonl' | undefined;
  readonly rejects?: string | undefined;
  readonly option?: string[] | undefined;
  readonly plugin?: string[] | undefined;
  readonly json: boolean;
  readonly quiet: boolean;
}

/** Everything a data-prep command hands to its library function. */
export interface OpsContext {
  readonly registry: FormatRegistry;
  readonly formatOptions: Record<string, unknown>;
  readonly progress: Progress;
  readonly onProgress: (p: OpProgress) => void;
  /** Aborted on SIGINT / SIGTERM: the operation stops and discards its outputs. */
  readonly signal: AbortSignal;
  /** The shared options for the library call (registry, from, to, container, rejects, format options, progress). */
  readonly common: {
    registry: FormatRegistry;
    from?: string;
    to?: string;
    container?: 'json' | 'jsonl';
    rejects?: string;
    formatOptions: Record<string, unknown>;
    onProgress: (p: OpProgress) => void;
    signal: AbortSignal;
  };
}

/** Build the registry, the progress bar and the shared options; warn about plugin problems on stderr. */
export async function opsContext(
  command: Command,
  config: Config,
  flags: OpsFlagValues,
  label: string,
): Promise<OpsContext> {
  const { registry, diagnostics } = await loadFormats(config, { plugins: flags.plugin ?? [] });
  for (const d of diagnostics) command.logToStderr(formatDiagnostic(d));
  const formatOptions = parseKeyValues(flags.option ?? []);
  const progress = createProgress({ label, enabled: flags.json || flags.quiet ? false : undefined });
  const controller = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => controller.abort(new InterruptedError(signal));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const onProgress = (p: OpProgress) =>
    progress.update(p.bytesRead, p.totalBytes, () => `${p.pass} ${formatCount(p.records)} records`);
  return {
    registry,
    formatOptions,
    progress,
    onProgress,
    signal: controller.signal,
    common: {
      registry,
      ...(flags.from ? { from: flags.from } : {}),
      ...(flags.to ? { to: flags.to } : {}),
      ...(flags.container ? { container: flags.container } : {}),
      ...(flags.rejects ? { rejects: flags.rejects } : {}),
      formatOptions,
      onProgress,
      signal: controller.signal,
    },
  };
}

/** The reason of an interrupted operation (the signal decides the exit code: SIGINT 130, SIGTERM 143). */
class InterruptedError extends Error {
  override name = 'AbortError';
  constructor(readonly signal: NodeJS.Signals) {
    super('interrupted');
  }
}

/**
 * Run a library call: a thrown `DiagnosticError` is printed with its hint (and every recipe problem) and exits 2
 * for usage errors (bad flags, unknown format, bad recipe: the rule's `kind`, see `exitCodeOf`), 1 for data errors.
 */
export async function runOp<T>(
  command: Command,
  context: Pick<OpsContext, 'progress'> & { readonly signal?: AbortSignal },
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    context.progress.stop();
    if ((error as Error)?.name === 'AbortError') {
      command.logToStderr('Interrupted: nothing was written (every output was discarded).');
      // (a reader aborted by the signal may throw its own AbortError: the signal's reason says which signal it was)
      const reason: unknown = context.signal?.reason ?? error;
      command.exit(reason instanceof InterruptedError ? signalExitCode(reason.signal) : 130);
    }
    if (!DiagnosticError.is(error)) throw error;
    const problems = (error.diagnostic.data?.problems as Diagnostic[] | undefined) ?? [error.diagnostic];
    for (const d of problems) command.logToStderr(formatDiagnostic(d));
    if (error.diagnostic.hint) command.logToStderr(`  hint: ${error.diagnostic.hint}`);
    command.exit(exitCodeOf(error.diagnostic));
    throw error;
  } finally {
    context.progress.stop();
  }
}

/**
 * Print an operation's summary: JSON on stdout with `--json`, else a few lines on stderr (read, written, rejected
 * by rule, outputs). Sets exit code 1 when the operation stopped at a fatal input error.
 */
export function reportOp(
  command: Command,
  summary: OpSummary,
  flags: OpsFlagValues,
  title: string,
  extra: string[] = [],
): void {
  if (summary.failed) process.exitCode = 1;
  if (flags.json) {
    // Records written to standard output keep it to themselves: the summary then goes to stderr.
    const text = JSON.stringify(summary, null, 2);
    if (Object.hasOwn(summary.outputs, '-')) command.logToStderr(text);
    else command.log(text);
    return;
  }
  if (summary.fatal) {
    command.logToStderr(formatDiagnostic(summary.fatal));
    if (summary.fatal.hint) command.logToStderr(`  hint: ${summary.fatal.hint}`);
  }
  if (flags.quiet) return;
  command.logToStderr(renderOpSummary(summary, { title, extra, rejectsFile: Boolean(flags.rejects) }));
}

function parseKeyValues(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const raw = eq === -1 ? 'true' : pair.slice(eq + 1);
    const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    let value: unknown = raw;
    if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    out[camel] = value;
  }
  return out;
}

/** The `--model` flag. */
export const modelFlag = Flags.option({
  options: ['llava-1.5-336', 'llava-1.5-224', 'llava-next-anyres', 'llava-next-anyres-unpad'] as const,
  default: 'llava-1.5-336' as const,
  summary:
    'Image tokens per image: 576 (336 px), 256 (224 px), or the AnyRes grid from each image size (needs --images).',
})();

/** The `--images` flag (image sources for sizes and hashes). */
export const imagesFlag = Flags.string({
  char: 'i',
  multiple: true,
  summary: 'Image source, in lookup order (repeatable): a folder, prefix=folder, or a zip archive read in place.',
});
