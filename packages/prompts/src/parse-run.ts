/**
 * `llava prompts parse` as a library call: join a Batch output (and error) file back to the requests, parse every
 * response into LLaVA records, and group them by output file. Writing the files is the caller's (atomically).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Diagnostic, DiagnosticError, diagnose, formatDiagnostic } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/schema';
import { joinBatchOutput } from './batch-output.js';
import { type PromptKind, promptFolderNames } from './kinds.js';
import { readManifest } from './manifest.js';
import type { ImagePlacement } from './parse.js';
import type { ManifestEntry } from './request.js';
import { parseResults } from './results.js';
import { promptRules } from './rules.js';

/** Options of {@link parseBatchRun}. */
export interface ParseBatchRunOptions {
  /** The Batch output file (or `output.jsonl` of a direct endpoint run). */
  readonly outputFile: string;
  /** The Batch error file beside it. */
  readonly errorFile?: string;
  /** The manifest written by `llava prompts build` (record ids and images per custom_id). */
  readonly manifestFile?: string;
  /** The output file (`.json` array or `.jsonl`), or with `byKind` the folder of one `.json` file per kind. */
  readonly out: string;
  readonly byKind?: boolean;
  readonly imagePlacement?: ImagePlacement;
  readonly seed?: number;
  /** Response layout: `qa` (default) or `jsonl` (the early conversation prompts). */
  readonly format?: 'qa' | 'jsonl';
}

/** One output file of a parse run and the records it gets. */
export interface ParseOutputFile {
  readonly path: string;
  readonly records: readonly LlavaRecord[];
}

/** What {@link parseBatchRun} found: counts, the records by output file, and every diagnostic. */
export interface ParseBatchRun {
  /** Results read (answered and failed requests). */
  readonly results: number;
  /** Failed requests. */
  readonly failed: number;
  /** Records made. */
  readonly records: number;
  /** Malformed responses. */
  readonly rejected: number;
  readonly byKind: Partial<Record<PromptKind, number>>;
  readonly files: readonly ParseOutputFile[];
  readonly diagnostics: Diagnostic[];
}

/** The files a parse run writes: `out`, or with `byKind` one file per kind in the folder `out`. */
export function parseOutputPaths(out: string, byKind = false): string[] {
  return byKind ? Object.values(promptFolderNames).map((name) => join(out, `${name}.json`)) : [out];
}

/**
 * Join, parse and group: the records of every well-formed response, in request order (manifest order when there is
 * a manifest), for one file or one file per kind. Malformed responses, failed requests and requests without a
 * result are diagnostics. A missing or unreadable output, error or manifest file rejects with a `prompts/missing-file`
 * `DiagnosticError` naming it, before anything is read.
 *
 * @example
 * ```ts
 * const run = await parseBatchRun({ outputFile: 'batch_output.jsonl', manifestFile: 'requests/manifest.jsonl', out: 'data.json' });
 * for (const file of run.files) await writeFile(file.path, serialiseRecords(file.records, file.path));
 * ```
 */
export async function parseBatchRun(options: ParseBatchRunOptions): Promise<ParseBatchRun> {
  await checkReadable(options.outputFile, 'Batch output file');
  if (options.errorFile) await checkReadable(options.errorFile, 'error file');
  if (options.manifestFile) await checkReadable(options.manifestFile, 'manifest');
  const diagnostics: Diagnostic[] = [];
  let manifest: ManifestEntry[] | undefined;
  if (options.manifestFile) {
    const read = await readManifest(options.manifestFile);
    manifest = read.entries;
    diagnostics.push(...read.diagnostics);
  }
  const joined = await joinBatchOutput({
    outputFile: options.outputFile,
    ...(options.errorFile ? { errorFile: options.errorFile } : {}),
    ...(manifest ? { expected: manifest.map((e) => e.custom_id) } : {}),
  });
  diagnostics.push(...joined.diagnostics);
  const parsed = parseResults(joined.results, {
    ...(manifest ? { manifest } : {}),
    imagePlacement: options.imagePlacement ?? 'front',
    seed: options.seed ?? 0,
    format: options.format ?? 'qa',
    file: options.outputFile,
  });
  diagnostics.push(...parsed.diagnostics);
  const byKind: Partial<Record<PromptKind, LlavaRecord[]>> = {};
  for (const r of parsed.records) (byKind[r.kind] ??= []).push(r.record);
  const files: ParseOutputFile[] = options.byKind
    ? (Object.entries(byKind) as [PromptKind, LlavaRecord[]][]).map(([kind, records]) => ({
        path: join(options.out, `${promptFolderNames[kind]}.json`),
        records,
      }))
    : [{ path: options.out, records: parsed.records.map((r) => r.record) }];
  return {
    results: joined.results.length,
    failed: joined.results.filter((r) => !r.ok).length,
    records: parsed.records.length,
    rejected: parsed.rejected,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v.length])),
    files,
    diagnostics,
  };
}

/** Records as a file's text: JSON Lines when the path ends in `.jsonl`, else a JSON array (two-space indent). */
export function serialiseRecords(records: readonly LlavaRecord[], path: string): string {
  if (path.endsWith('.jsonl')) return records.map((r) => `${JSON.stringify(r)}\n`).join('');
  return `${JSON.stringify(records, null, 2)}\n`;
}

/** The text report of a parse run: its first 50 diagnostics, then the counts and the files written. */
export function renderParseReport(
  run: Pick<ParseBatchRun, 'results' | 'failed' | 'records' | 'rejected' | 'byKind'>,
  diagnostics: readonly Diagnostic[],
  written: readonly string[],
): string[] {
  const lines = diagnostics.slice(0, 50).map((d) => formatDiagnostic(d));
  if (diagnostics.length > 50) lines.push(`… and ${diagnostics.length - 50} more diagnostics`);
  const kinds = Object.entries(run.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  lines.push(
    `Parsed ${run.results} results: ${run.records} records${kinds ? ` (${kinds})` : ''}, ${run.rejected} malformed, ${run.failed} failed requests\n  written: ${written.join(', ')}`,
  );
  return lines;
}

/** Reject with `prompts/missing-file` (naming `path`) unless `path` is a file that can be opened for reading. */
async function checkReadable(path: string, what: string): Promise<void> {
  let reason: string | undefined;
  let code: string | undefined;
  try {
    const info = await stat(path);
    if (info.isDirectory()) reason = 'it is a directory';
  } catch (error) {
    code = (error as NodeJS.ErrnoException).code;
    reason =
      code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  }
  if (reason === undefined) return;
  throw new DiagnosticError(
    diagnose(promptRules.missingFile, {
      message: `Cannot read the ${what} ${path}: ${reason}${code && code !== 'ENOENT' ? ` (${code})` : ''}.`,
      file: path,
      source: 'prompts',
      ...(code ? { data: { code } } : {}),
    }),
  );
}
