import { join } from 'node:path';
import {
  type Diagnostic,
  DiagnosticError,
  diagnose,
  excerpt,
  makeDirectory,
  type StagedFile,
  stageFile,
} from '@llavakit/diagnostics';
import { overlongLineDiagnostic, readLines } from './jsonl.js';
import type { ChatRequest, ManifestEntry } from './request.js';
import { promptRules } from './rules.js';

/** OpenAI Batch limits: at most 50,000 requests per input file. */
export const BATCH_MAX_REQUESTS = 50_000;
/** OpenAI Batch limits: at most 200 MB per input file. */
export const BATCH_MAX_BYTES = 200 * 1024 * 1024;

/** Start writing `path` atomically (see `stageFile`); failures are `output/write-failed` naming `path`. */
async function stage(path: string): Promise<StagedFile> {
  try {
    return await stageFile(path);
  } catch (error) {
    throw writeFailure(path, error);
  }
}

/** Commit a staged file; a failure is `output/write-failed` naming its target. */
async function commit(file: StagedFile): Promise<void> {
  try {
    await file.commit();
  } catch (error) {
    throw writeFailure(file.path, error);
  }
}

/** An `output/write-failed` error naming the target (never the temporary file). */
function writeFailure(path: string, error: unknown): DiagnosticError {
  if (DiagnosticError.is(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail =
    code === 'ENOSPC'
      ? 'no space left on the device'
      : code === 'EROFS'
        ? 'the file system is read-only'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : code === 'EEXIST' || code === 'ENOTDIR'
              ? 'a file is in the way of the folder'
              : code === 'ENOENT'
                ? 'a folder on its path does not exist'
                : ((error as Error)?.message ?? String(error)).split(':')[0];
  return new DiagnosticError(
    diagnose(promptRules.writeFailed, {
      message: `Cannot write ${path}: ${detail}${code ? ` (${code})` : ''}.`,
      file: path,
      source: 'prompts',
      ...(code ? { data: { code } } : {}),
    }),
    { cause: error },
  );
}

async function writeAll(file: StagedFile, data: Buffer | string): Promise<void> {
  try {
    await file.write(data);
  } catch (error) {
    throw writeFailure(file.path, error);
  }
}

/** Options of {@link writeBatchFiles}. */
export interface WriteBatchFilesOptions {
  /** Folder to write into (created when missing). */
  readonly outDir: string;
  /** Requests per file. Default {@link BATCH_MAX_REQUESTS}. */
  readonly maxRequests?: number;
  /** Bytes per file (UTF-8, newlines included). Default {@link BATCH_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** File name prefix: files are `<prefix>-0001.jsonl`, … Default `batch`. */
  readonly prefix?: string;
  /** Called after each request is written, with the running count. */
  readonly onProgress?: (written: number) => void;
}

/** One written batch input file. */
export interface BatchFileInfo {
  readonly path: string;
  readonly requests: number;
  readonly bytes: number;
}

/** Result of {@link writeBatchFiles}. */
export interface WriteBatchFilesResult {
  readonly files: BatchFileInfo[];
  readonly requests: number;
  readonly diagnostics: Diagnostic[];
}

/**
 * Write requests as OpenAI Batch input JSONL (one `{custom_id, method, url, body}` per line), starting a new file
 * before one would exceed `maxRequests` lines or `maxBytes` bytes. A request with a custom_id already written,
 * or whose line alone exceeds `maxBytes`, is not written and is reported. The files appear together when all are
 * complete (each written under a temporary name and renamed); a failure (full disk, read-only folder) rejects with
 * an `output/write-failed` `DiagnosticError` naming the file, and leaves none of them behind.
 *
 * @example
 * ```ts
 * const { files } = await writeBatchFiles(requests, { outDir: 'out', maxRequests: 50_000 });
 * ```
 */
export async function writeBatchFiles(
  requests: Iterable<ChatRequest> | AsyncIterable<ChatRequest>,
  options: WriteBatchFilesOptions,
): Promise<WriteBatchFilesResult> {
  const maxRequests = options.maxRequests ?? BATCH_MAX_REQUESTS;
  const maxBytes = options.maxBytes ?? BATCH_MAX_BYTES;
  const prefix = options.prefix ?? 'batch';
  try {
    await makeDirectory(options.outDir);
  } catch (error) {
    throw writeFailure(options.outDir, error);
  }
  const files: BatchFileInfo[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const staged: StagedFile[] = [];
  let handle: StagedFile | undefined;
  let current: { path: string; requests: number; bytes: number } | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;

  const flush = async () => {
    if (handle && pending.length > 0) await writeAll(handle, Buffer.concat(pending));
    pending = [];
    pendingBytes = 0;
  };
  const close = async () => {
    await flush();
    if (current) files.push({ ...current });
    handle = undefined;
    current = undefined;
  };

  try {
    for await (const request of requests) {
      if (seen.has(request.custom_id)) {
        diagnostics.push(
          diagnose(promptRules.duplicateCustomId, {
            message: `custom_id \`${request.custom_id}\` is used twice; the second request is not written.`,
            recordId: request.custom_id,
            source: 'prompts',
          }),
        );
        continue;
      }
      seen.add(request.custom_id);
      const line = Buffer.from(`${JSON.stringify(request)}\n`, 'utf8');
      if (line.length > maxBytes) {
        diagnostics.push(
          diagnose(promptRules.oversizedRequest, {
            message: `Request \`${request.custom_id}\` is ${line.length} bytes, more than the file limit of ${maxBytes}.`,
            recordId: request.custom_id,
            source: 'prompts',
            data: { bytes: line.length, maxBytes },
          }),
        );
        continue;
      }
      if (current && (current.requests >= maxRequests || current.bytes + line.length > maxBytes)) await close();
      if (!current) {
        const path = join(options.outDir, `${prefix}-${String(files.length + 1).padStart(4, '0')}.jsonl`);
        handle = await stage(path);
        staged.push(handle);
        current = { path, requests: 0, bytes: 0 };
      }
      pending.push(line);
      pendingBytes += line.length;
      current.requests++;
      current.bytes += line.length;
      total++;
      if (pendingBytes >= 1 << 20) await flush();
      options.onProgress?.(total);
    }
    await close();
    for (const file of staged) await commit(file);
  } catch (error) {
    for (const file of staged) await file.discard();
    throw error;
  }
  return { files, requests: total, diagnostics };
}

/**
 * Write a manifest (one {@link ManifestEntry} per line), so that results can be turned back into records. The file
 * appears atomically; a failure is an `output/write-failed` `DiagnosticError` naming `path`, leaving nothing.
 */
export async function writeManifest(path: string, entries: Iterable<ManifestEntry>): Promise<number> {
  const file = await stage(path);
  let count = 0;
  try {
    let chunk: string[] = [];
    for (const entry of entries) {
      chunk.push(JSON.stringify(entry));
      count++;
      if (chunk.length >= 10_000) {
        await writeAll(file, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) await writeAll(file, `${chunk.join('\n')}\n`);
    await commit(file);
  } catch (error) {
    await file.discard();
    throw error;
  }
  return count;
}

/** Read a manifest written by {@link writeManifest}. Bad lines become `prompts/bad-line` diagnostics. */
export async function readManifest(path: string): Promise<{ entries: ManifestEntry[]; diagnostics: Diagnostic[] }> {
  const entries: ManifestEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  for await (const item of readLines(path)) {
    if (item.overlong) {
      diagnostics.push(overlongLineDiagnostic(path, item));
      continue;
    }
    const { line, text } = item;
    const value = tryJson(text) as Partial<ManifestEntry> | undefined;
    if (
      typeof value?.custom_id !== 'string' ||
      typeof value.id !== 'string' ||
      typeof value.image !== 'string' ||
      (value.kind !== 'conversation' && value.kind !== 'detail' && value.kind !== 'complex_reasoning')
    ) {
      diagnostics.push(badLine(path, line, text, 'A manifest line needs `custom_id`, `kind`, `id` and `image`.'));
      continue;
    }
    entries.push(value as ManifestEntry);
  }
  return { entries, diagnostics };
}

/** One joined result: the response text of a request, or why there is none. */
export type BatchResult =
  | {
      readonly customId: string;
      readonly ok: true;
      readonly content: string;
      readonly statusCode: number;
      /** `finish_reason` of the first choice (`stop`, `length`, …). */
      readonly finishReason?: string;
    }
  | { readonly customId: string; readonly ok: false; readonly statusCode?: number; readonly error: string };

/** Options of {@link joinBatchOutput}. */
export interface JoinBatchOutputOptions {
  /** The Batch output file (`{id, custom_id, response: {status_code, body}, error}` per line, any order). */
  readonly outputFile: string;
  /** The Batch error file beside it, when there is one. */
  readonly errorFile?: string;
  /**
   * The custom_ids that were requested, in request order (e.g. from the manifest). With it, results come back
   * in this order, a request without any result is reported (`prompts/missing-result`) and a result for an
   * unknown custom_id is reported (`prompts/unknown-result`). Without it, results are sorted by custom_id.
   */
  readonly expected?: readonly string[];
}

/** Result of {@link joinBatchOutput}. */
export interface JoinBatchOutputResult {
  readonly results: BatchResult[];
  readonly diagnostics: Diagnostic[];
}

/**
 * Join Batch output back to requests by `custom_id`: read the output file and the error file (lines in any
 * order), keep one result per custom_id (a success wins over a failure; a second success is reported), and
 * report failures (`prompts/request-failed`) with their status and message.
 */
export async function joinBatchOutput(options: JoinBatchOutputOptions): Promise<JoinBatchOutputResult> {
  const diagnostics: Diagnostic[] = [];
  const byId = new Map<string, BatchResult>();
  const files = [options.outputFile, ...(options.errorFile ? [options.errorFile] : [])];
  for (const file of files) {
    for await (const item of readLines(file)) {
      if (item.overlong) {
        diagnostics.push(overlongLineDiagnostic(file, item));
        continue;
      }
      const { line, text } = item;
      const value = tryJson(text) as BatchOutputLine | undefined;
      if (typeof value?.custom_id !== 'string') {
        diagnostics.push(badLine(file, line, text, 'A Batch output line needs a string `custom_id`.'));
        continue;
      }
      const result = toResult(value);
      const previous = byId.get(value.custom_id);
      if (previous?.ok && result.ok) {
        diagnostics.push(
          diagnose(promptRules.duplicateResult, {
            message: `custom_id \`${value.custom_id}\` has more than one successful result; the first is kept.`,
            file,
            place: { line, column: 1 },
            recordId: value.custom_id,
            source: 'prompts',
          }),
        );
        continue;
      }
      if (!previous || (!previous.ok && result.ok)) byId.set(value.custom_id, result);
    }
  }

  const results: BatchResult[] = [];
  const order = options.expected ?? [...byId.keys()].sort();
  const expected = new Set(order);
  for (const customId of order) {
    const result = byId.get(customId);
    if (!result) {
      diagnostics.push(
        diagnose(promptRules.missingResult, {
          message: `Request \`${customId}\` has no result in the output or error file.`,
          recordId: customId,
          source: 'prompts',
        }),
      );
      continue;
    }
    results.push(result);
  }
  if (options.expected) {
    for (const [customId, result] of byId) {
      if (expected.has(customId)) continue;
      diagnostics.push(
        diagnose(promptRules.unknownResult, {
          message: `Result for \`${customId}\`, which is not among the requests.`,
          recordId: customId,
          source: 'prompts',
        }),
      );
      results.push(result);
    }
  }
  for (const result of results) {
    if (!result.ok) {
      diagnostics.push(
        diagnose(promptRules.requestFailed, {
          message: `Request \`${result.customId}\` failed${result.statusCode ? ` (HTTP ${result.statusCode})` : ''}: ${result.error}`,
          recordId: result.customId,
          source: 'prompts',
          data: { customId: result.customId, statusCode: result.statusCode },
        }),
      );
    }
  }
  return { results, diagnostics };
}

/** The shape of one Batch output / error line (only the fields read here). */
export interface BatchOutputLine {
  readonly id?: string;
  readonly custom_id: string;
  readonly response?: {
    readonly status_code?: number;
    readonly request_id?: string;
    readonly body?: {
      readonly choices?: readonly {
        readonly message?: { readonly content?: unknown };
        readonly finish_reason?: string;
      }[];
      readonly error?: { readonly message?: string };
    };
  } | null;
  readonly error?: { readonly code?: string; readonly message?: string } | null;
}

function toResult(line: BatchOutputLine): BatchResult {
  const customId = line.custom_id;
  const status = line.response?.status_code;
  if (line.error) {
    return {
      customId,
      ok: false,
      ...(status ? { statusCode: status } : {}),
      error: `${line.error.code ? `${line.error.code}: ` : ''}${line.error.message ?? 'error'}`,
    };
  }
  if (status !== 200) {
    return {
      customId,
      ok: false,
      ...(status ? { statusCode: status } : {}),
      error: line.response?.body?.error?.message ?? (status ? `HTTP ${status}` : 'no response'),
    };
  }
  const choice = line.response?.body?.choices?.[0];
  const content = choice?.message?.content;
  if (typeof content !== 'string') {
    return { customId, ok: false, statusCode: status, error: 'the response has no message content' };
  }
  return {
    customId,
    ok: true,
    content,
    statusCode: status,
    ...(choice?.finish_reason ? { finishReason: choice.finish_reason } : {}),
  };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function badLine(file: string, line: number, text: string, message: string): Diagnostic {
  return diagnose(promptRules.badLine, {
    message,
    file,
    place: { line, column: 1 },
    excerpt: excerpt(text, 100),
    source: 'prompts',
  });
}
