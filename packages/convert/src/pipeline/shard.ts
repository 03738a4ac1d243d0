import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { DiagnosticError, defineRules, diagnose } from '@llavakit/diagnostics';
import { glob } from 'tinyglobby';

/**
 * One shard of a run split `count` ways: `index` is 0-based, `0 ≤ index < count`. Written `k/n` on the command line
 * (`--shard 0/4` … `--shard 3/4`).
 */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Rules of sharded runs. */
export const shardRules = defineRules({
  invalid: {
    id: 'usage/shard',
    severity: 'error',
    title: 'The shard is not k/n with 0 ≤ k < n',
    hint: 'Give --shard k/n with a 0-based k below n: --shard 0/4, 1/4, 2/4 and 3/4 split a run four ways.',
  },
  output: {
    id: 'usage/shard-output',
    severity: 'error',
    title: 'The shards of a run would write the same output',
    hint: 'Put {shard} (and optionally {shards}) in the output name, e.g. -o out/part-{shard}-of-{shards}.jsonl.',
  },
  noInputs: {
    id: 'usage/shard-no-inputs',
    severity: 'error',
    title: 'An input pattern matches no file',
    hint: 'Check the glob (quote it so that every process expands it the same way) and the working directory.',
  },
});

/**
 * Parse `k/n` (0-based `k`, `n` shards). Throws a `usage/shard` {@link DiagnosticError} for anything else, `k ≥ n`
 * included.
 *
 * @example
 * ```ts
 * parseShard('2/8'); // { index: 2, count: 8 }
 * ```
 */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/.exec(text);
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!match || count < 1 || index >= count) {
    throw new DiagnosticError(
      diagnose(shardRules.invalid, {
        message: !match
          ? `--shard ${JSON.stringify(text)} is not k/n (two whole numbers, e.g. 0/4).`
          : count < 1
            ? `--shard ${text}: n must be at least 1.`
            : `--shard ${text}: k must be below n (k counts from 0, so the last of ${count} shard(s) is ${count - 1}/${count}).`,
      }),
    );
  }
  return { index, count };
}

/** `k/n`, as {@link parseShard} reads it. */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

const MAGIC = /[*?[\]{}]/;

/**
 * Expand input globs (`*`, `?`, `[…]`, `{a,b}`, `**`) into files and sort the whole list by code point, so every
 * process of a sharded run sees the same inputs in the same order whatever its shell did. Names without glob
 * characters (and `-`) are kept as given. Throws `usage/shard-no-inputs` for a pattern that matches nothing.
 */
export async function expandInputs(patterns: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of patterns) {
    if (pattern === '-' || !MAGIC.test(pattern)) {
      files.push(pattern);
      continue;
    }
    const found = await glob(pattern, {
      cwd,
      absolute: isAbsolute(pattern),
      onlyFiles: true,
      expandDirectories: false,
      dot: false,
    });
    if (found.length === 0) {
      throw new DiagnosticError(diagnose(shardRules.noInputs, { message: `${pattern} matches no file.` }));
    }
    files.push(...found);
  }
  return [...new Set(files)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What one shard reads: its files, and (with one file) which record indexes of it. */
export interface ShardSelection {
  /** The files of this shard, in the sorted order. */
  readonly inputs: string[];
  /** With one input: keep the record of this 0-based index? (`index mod n === k`). Absent: every record. */
  readonly keepRecord?: (index: number) => boolean;
  /** `files` (several inputs, dealt round-robin) or `records` (one input, its records dealt round-robin). */
  readonly by: 'files' | 'records';
}

/**
 * Choose what shard `k/n` reads. With several (sorted) inputs: the files `k, k+n, k+2n, …`, each read whole.
 * With one input: every record whose 0-based index `i` has `i mod n === k`. A 1-way shard reads everything.
 *
 * The single-process output is recovered from the shards' outputs: by files, concatenate the per-file runs in file
 * order (each shard's summary lists its files with their `written` counts); by records, deal round-robin — record
 * `i` of the whole is record `⌊i/n⌋` of shard `i mod n` (while no record is rejected; a rejected record leaves its
 * place empty and is listed with its index in that shard's rejects).
 */
export function selectShard(inputs: readonly string[], shard: Shard): ShardSelection {
  if (inputs.length === 1) {
    if (shard.count === 1) return { inputs: [...inputs], by: 'records' };
    return {
      inputs: [...inputs],
      by: 'records',
      keepRecord: (index) => index % shard.count === shard.index,
    };
  }
  return { inputs: inputs.filter((_, i) => i % shard.count === shard.index), by: 'files' };
}

/** Expand `{shard}` (0-based index, 5 digits) and `{shards}` (count, 5 digits) in an output name. */
export function expandShardName(template: string, shard: Shard): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return template.replaceAll('{shard}', pad(shard.index)).replaceAll('{shards}', pad(shard.count));
}

/** True when the name has a `{shard}` placeholder. */
export function hasShardPlaceholder(template: string): boolean {
  return template.includes('{shard}');
}

/** The Hub's shard file name: `train-00002-of-00008.parquet`. */
export function hubShardName(shard: Shard, split = 'train', ext = 'parquet'): string {
  return expandShardName(`${split}-{shard}-of-{shards}.${ext}`, shard);
}

/** Options of {@link shardOutput}. */
export interface ShardOutputOptions {
  /** The target format writes into a folder (Parquet without `.parquet`): the shard gets the Hub's name in it. */
  readonly folderFormat?: boolean;
  /** The split of the Hub name (default `train`). */
  readonly split?: string;
}

/**
 * The output path of a shard: placeholders expanded; for a folder-writing format (Parquet) given a folder, the
 * Hub's `<folder>/data/<split>-0000k-of-0000n.parquet`; standard output stays `-`. Throws `usage/shard-output` when
 * `n > 1` and every shard would write the same file.
 */
export function shardOutput(template: string, shard: Shard, options: ShardOutputOptions = {}): string {
  if (template === '-') return template;
  if (hasShardPlaceholder(template)) return expandShardName(template, shard);
  if (options.folderFormat && extname(template) !== '.parquet') {
    return join(template, 'data', hubShardName(shard, options.split));
  }
  if (shard.count === 1) return template;
  throw new DiagnosticError(
    diagnose(shardRules.output, {
      message: `-o ${template} has no {shard}: all ${shard.count} shards would write it.`,
    }),
  );
}

/**
 * Where a shard keeps its summary and done marker: hidden files beside the output, `.<name>.summary.json` and
 * `.<name>.done`, so globs over the outputs (`out/part-*`, the Hub's `data/train-*`) never pick them up.
 */
export function shardResultPaths(output: string): { summary: string; done: string } {
  const dir = dirname(output);
  const name = basename(output);
  return { summary: join(dir, `.${name}.summary.json`), done: join(dir, `.${name}.done`) };
}

/** What a done marker holds: the run it finished, so a different run over the same output is not skipped. */
export interface ShardMarker {
  readonly shard: string;
  readonly inputs: readonly string[];
  readonly output: string;
}

/**
 * True when this shard of this run already finished: its done marker names the same shard and inputs, and the
 * output (or its summary, for standard output) is still there. A shard that failed or was interrupted has no marker.
 */
export async function isShardDone(output: string, marker: ShardMarker): Promise<boolean> {
  const paths = shardResultPaths(output);
  try {
    const found = JSON.parse(await readFile(paths.done, 'utf8')) as ShardMarker;
    if (found.shard !== marker.shard || JSON.stringify(found.inputs) !== JSON.stringify(marker.inputs)) return false;
    await stat(output);
    await stat(paths.summary);
    return true;
  } catch {
    return false;
  }
}

/**
 * Record a finished shard: its summary as JSON beside the output, then the done marker (each written to a temporary
 * file and renamed, the marker last, so a marker always means a complete output and summary).
 */
export async function writeShardResult(output: string, marker: ShardMarker, summary: unknown): Promise<void> {
  const paths = shardResultPaths(output);
  const put = async (path: string, text: string) => {
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, text);
    await rename(temp, path);
  };
  await put(paths.summary, `${JSON.stringify({ shard: marker.shard, ...(summary as object) }, null, 2)}\n`);
  await put(paths.done, `${JSON.stringify(marker)}\n`);
}

/** A merged report: the fields of the shard summaries combined, and how many were merged. */
export type MergedSummary = Record<string, unknown> & { readonly merged: number };

/**
 * Combine the summaries of a run's shards (`convert`, `validate`, `images check`, … `--json` results, or the
 * `.summary.json` files shards write) into one: numbers are summed (read, written, rejected, durations), objects
 * are merged key by key the same way (rejectedByRule, diagnostics, counts), lists are concatenated in the order
 * given (inputs), booleans are or-ed (failed) except `ok`, which holds when every shard's does, other values are kept when every shard agrees and listed otherwise.
 * `shard` fields are dropped; `merged` counts the summaries. Sums of per-shard distinct counts (`images check`'s
 * `total.distinct`) count an item once per shard that saw it.
 *
 * @example
 * ```ts
 * mergeSummaries([{ read: 3, rejectedByRule: { a: 1 } }, { read: 2, rejectedByRule: { a: 1, b: 2 } }]);
 * // { merged: 2, read: 5, rejectedByRule: { a: 2, b: 2 } }
 * ```
 */
export function mergeSummaries(summaries: readonly unknown[]): MergedSummary {
  let merged: Record<string, unknown> = {};
  for (const summary of summaries) {
    if (!summary || typeof summary !== 'object' || Array.isArray(summary)) continue;
    const { shard: _shard, merged: _merged, ...rest } = summary as Record<string, unknown>;
    const ok = merged.ok;
    merged = mergeValue(merged, rest) as Record<string, unknown>;
    // `ok` holds only when every shard was ok (every other flag, like `failed`, when any shard has it)
    if (typeof ok === 'boolean' && typeof rest.ok === 'boolean') merged.ok = ok && rest.ok;
  }
  return { merged: summaries.length, ...merged };
}

function mergeValue(a: unknown, b: unknown): unknown {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a || b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (isPlain(a) && isPlain(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = mergeValue(out[key], value);
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  const list = (v: unknown) => (isDisagreement(v) ? v.values : [v]);
  const values = [...list(a)];
  for (const v of list(b)) if (!values.some((w) => JSON.stringify(w) === JSON.stringify(v))) values.push(v);
  return { values };
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isDisagreement(v);
}

function isDisagreement(v: unknown): v is { values: unknown[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.keys(v).length === 1 &&
    Array.isArray((v as { values?: unknown }).values)
  );
}

/**
 * Read summary JSON files and {@link mergeSummaries} them. A folder stands for every shard summary under it
 * (`**\/.*.summary.json`, sorted).
 */
export async function mergeSummaryFiles(inputs: readonly string[]): Promise<MergedSummary> {
  const paths: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await glob('**/.*.summary.json', { cwd: input, dot: true, onlyFiles: true });
      if (found.length === 0) {
        throw new DiagnosticError(
          diagnose(shardRules.noInputs, { message: `${input} holds no shard summary (.*.summary.json).`, file: input }),
        );
      }
      paths.push(...found.sort().map((f) => join(input, f)));
    } else paths.push(input);
  }
  const summaries: unknown[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new DiagnosticError(
        diagnose(shardRules.noInputs, {
          message: `${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
          file: path,
        }),
      );
    }
    try {
      summaries.push(JSON.parse(text));
    } catch {
      throw new DiagnosticError({
        ruleId: 'summaries/not-json',
        severity: 'error',
        message: `${path} is not a JSON summary.`,
        hint: 'Give the .summary.json files shards write, or the --json output of convert, validate or images check.',
        file: path,
        source: 'writer',
      });
    }
  }
  return mergeSummaries(summaries);
}
