import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Diagnostic, DiagnosticError, type Severity } from '@llavakit/diagnostics';
import type { DetectProbe, InputSource } from '@llavakit/format';
import { createValidator, validationKinds } from '@llavakit/schema';
import type { FormatRegistry } from '../plugins/registry.js';
import { sourceOfPath } from './input.js';
import { workersOptions } from './parallel/run.js';
import { startParallelValidation } from './parallel/validate.js';
import { type ShardMarker, writeShardResult } from './shard.js';
import { chooseValidation, readForValidation, sourcePointer, type ValidationPlan } from './validate-input.js';

/** One input of a validation run, as its summary reports it. */
export interface ValidatedFile {
  file: string;
  records: number;
  error: number;
  warning: number;
  info: number;
  /** Id of the rule that stopped reading the file early (truncated, not JSON, …). */
  stopped?: string;
  /** The format the records were read with, and the kind they were checked as. */
  format?: string;
  kind?: string;
  /** How the format was chosen: `from` (--from), `detected`, `default`. */
  by?: string;
}

/** The closing summary of a validation run (`llava validate --json`'s last line, `--summary`'s file). */
export interface ValidationSummary {
  readonly records: number;
  readonly diagnostics: Record<Severity, number>;
  /** Diagnostics per rule id. */
  readonly byRule: Record<string, number>;
  readonly files: ValidatedFile[];
  readonly strict: boolean;
  /** Errors were found (or, with `strict`, warnings). */
  readonly failed: boolean;
}

/** How many diagnostics of the same rule came before one (for showing at most N per rule). */
export interface RuleTally {
  /** Of the rule, any severity. */
  readonly rule: number;
  /** Of the rule and this severity. */
  readonly ruleAndSeverity: number;
}

/** Named options of {@link validateFiles}. */
export interface ValidateFilesOptions {
  readonly inputs: readonly string[];
  /** What the files are (a readable format, or a LLaVA kind); detected per file when absent. */
  readonly from?: string | undefined;
  readonly registry: FormatRegistry;
  /** Warnings fail too. */
  readonly strict?: boolean | undefined;
  /** Check only the records whose index passes (a shard of one file). */
  readonly keepRecord?: ((index: number) => boolean) | undefined;
  /** Write the summary as JSON to this file (temp + rename); with `marker`, a done marker when it did not fail. */
  readonly summaryFile?: { readonly path: string; readonly marker?: ShardMarker | undefined } | undefined;
  /** Each diagnostic, in file order, with how many of its rule came before it. Awaited (back-pressure). */
  readonly onDiagnostic?: ((diagnostic: Diagnostic, before: RuleTally) => void | Promise<void>) | undefined;
  /** A file's format is chosen: how its records are read and what they are checked as. */
  readonly onFile?: ((file: string, plan: ValidationPlan) => void | Promise<void>) | undefined;
  /**
   * `--workers`: worker threads that parse and check the records (the same diagnostics, in the same order). Default
   * 1: this thread (on 2 cores, two workers measured the same wall with more memory: 1.30 s / 165 MiB against 1.30 s /
   * 120 MiB for the 150K file, 5.4 s / 232 MiB against 5.1 s / 150 MiB for the 1 GB one).
   */
  readonly workers?: number | undefined;
  /** A note for the user (`--workers N` asked for, but a file is checked in one thread, and why). */
  readonly onNote?: ((message: string) => void) | undefined;
  /** Bytes read of the current file, its size, and the records checked so far (all files). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number | undefined, records: number) => void) | undefined;
}

/** What {@link validateFiles} found. */
export interface ValidateFilesResult {
  readonly summary: ValidationSummary;
  /** Per rule and severity, for the report. */
  readonly counts: Record<string, Partial<Record<Severity, number>>>;
  /** The first hint of each rule. */
  readonly hints: Record<string, string>;
}

/**
 * The message for a `--from` that is neither a readable format of the registry nor a LLaVA kind; `undefined` when
 * it is fine (a usage error of `llava validate`).
 */
export function unknownValidationSource(registry: FormatRegistry, from: string | undefined): string | undefined {
  if (!from || registry.get(from) || (validationKinds as readonly string[]).includes(from)) return undefined;
  const readable = registry
    .list()
    .filter((f) => f.format.decode || f.format.read)
    .map((f) => f.format.name);
  return `Unknown --from ${from}: use one of ${[...new Set([...readable, ...validationKinds])].join(', ')}.`;
}

/**
 * Check every record of every input against the validation rules (`llava validate`), streaming: per file, its
 * format and kind are chosen (`--from`, or detection; a FIFO's head is buffered and replayed), its records read
 * (decoded by their format when not LLaVA, pointers mapped back into the source record), checked, and the
 * cross-record rules run at its end. A file no format fits, or whose reading stops (truncated, not JSON), is a data
 * error of that file; the others are still checked.
 */
export async function validateFiles(options: ValidateFilesOptions): Promise<ValidateFilesResult> {
  const counts: Record<string, Partial<Record<Severity, number>>> = {};
  const hints: Record<string, string> = {};
  const totals: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  const files: ValidatedFile[] = [];
  let records = 0;

  const emit = async (d: Diagnostic, file: ValidatedFile) => {
    const perRule = (counts[d.ruleId] ??= {});
    const before: RuleTally = {
      rule: (perRule.error ?? 0) + (perRule.warning ?? 0) + (perRule.info ?? 0),
      ruleAndSeverity: perRule[d.severity] ?? 0,
    };
    perRule[d.severity] = (perRule[d.severity] ?? 0) + 1;
    if (d.hint && !(d.ruleId in hints)) hints[d.ruleId] = d.hint;
    totals[d.severity]++;
    file[d.severity]++;
    await options.onDiagnostic?.(d, before);
  };

  for (const input of options.inputs) {
    const summary: ValidatedFile = { file: input, records: 0, error: 0, warning: 0, info: 0 };
    files.push(summary);
    let plan: ValidationPlan;
    // A FIFO or `<(…)` can be read only once: its head is buffered for detection and replayed for reading.
    // (`-` stays a name here: the reader reads standard input for it.)
    const opened: { input: InputSource; probe?: DetectProbe } =
      input === '-' ? { input } : await sourceOfPath(input, { peek: true });
    try {
      plan = await chooseValidation(input, {
        registry: options.registry,
        ...(options.from ? { from: options.from } : {}),
        ...(opened.probe ? { probe: opened.probe } : {}),
      });
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      // no format (or more than one) fits the records: a data error of this file
      summary.stopped = error.diagnostic.ruleId;
      await emit(error.diagnostic, summary);
      continue;
    }
    Object.assign(summary, { format: plan.format.name, kind: plan.kind, by: plan.by });
    await options.onFile?.(input, plan);
    const validator = createValidator({ file: input, kind: plan.kind, ignore: plan.ignore });
    const onProgress = (done: number, total: number | undefined) =>
      options.onProgress?.(done, total, records + summary.records);
    // [parallel hook] worker threads check the records when they can (./parallel/validate.ts).
    const parallel = await startParallelValidation(opened.input, plan, {
      file: input,
      registry: options.registry,
      // (one thread unless `workers` is given: see ValidateFilesOptions.workers)
      ...workersOptions(options.workers, options.onNote, 'validating', false),
      ...(options.keepRecord ? { keepRecord: options.keepRecord } : {}),
      onProgress,
    });
    try {
      if (parallel) {
        await parallel.run({
          record: () => {
            summary.records++;
          },
          diagnostic: (d) => emit(d, summary),
        });
      } else {
        const items = readForValidation(opened.input, plan, {
          file: input,
          ...(options.keepRecord ? { keepRecord: options.keepRecord } : {}),
          onProgress,
        });
        for await (const item of items) {
          summary.records++;
          if (item.ok) {
            const found = validator.check(item.value, item.place, item.text);
            for (let i = 0; i < found.length; i++) {
              const d = found[i]!;
              const pointer = plan.decode && d.pointer !== undefined ? sourcePointer(d.pointer, item.raw) : d.pointer;
              await emit(pointer === d.pointer ? d : { ...d, ...(pointer !== undefined ? { pointer } : {}) }, summary);
            }
          } else {
            for (const d of item.diagnostics) await emit(d, summary);
          }
        }
      }
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      summary.stopped = error.diagnostic.ruleId;
      await emit(error.diagnostic, summary);
    }
    for (const d of (parallel ?? validator).finish()) await emit(d, summary);
    records += summary.records;
  }

  const strict = options.strict === true;
  const failed = totals.error > 0 || (strict && totals.warning > 0);
  const byRule = Object.fromEntries(
    Object.entries(counts).map(([rule, c]) => [rule, (c.error ?? 0) + (c.warning ?? 0) + (c.info ?? 0)]),
  );
  const summary: ValidationSummary = { records, diagnostics: totals, byRule, files, strict, failed };
  if (options.summaryFile) await writeValidationSummary(options.summaryFile, summary);
  return { summary, counts, hints };
}

async function writeValidationSummary(
  target: NonNullable<ValidateFilesOptions['summaryFile']>,
  summary: ValidationSummary,
): Promise<void> {
  const temp = `${target.path}.${process.pid}.tmp`;
  await mkdir(dirname(resolve(target.path)), { recursive: true });
  await writeFile(temp, `${JSON.stringify(summary, null, 2)}\n`);
  await rename(temp, target.path);
  // a shard that failed is checked again on a rerun (its marker would turn the failure into a skip)
  if (!summary.failed && target.marker) await writeShardResult(target.path, target.marker, summary);
}
