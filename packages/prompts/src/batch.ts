import { join } from 'node:path';
import { type Diagnostic, diagnose, makeDirectory, type StagedFile } from '@llavakit/diagnostics';
import type { ChatRequest } from './request.js';
import { promptRules } from './rules.js';
import { commit, stage, writeAll, writeFailure } from './staged-write.js';

/** OpenAI Batch limits: at most 50,000 requests per input file. */
export const BATCH_MAX_REQUESTS = 50_000;
/** OpenAI Batch limits: at most 200 MB per input file. */
export const BATCH_MAX_BYTES = 200 * 1024 * 1024;
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
