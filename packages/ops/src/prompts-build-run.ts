/**
 * `llava prompts build` as one library call: load the prompt folders, plan one request per image and kind, then
 * write OpenAI Batch input files or call an OpenAI-compatible endpoint, and write the manifest.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFailure } from '@llavakit/convert';
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import {
  type BuildReport,
  callChatEndpoint,
  loadPromptFolders,
  type PromptKind,
  planPromptRequests,
  writeBatchFiles,
  writeManifest,
} from '@llavakit/prompts';

/** Where the requests of {@link runPromptsBuild} go instead of batch files: an OpenAI-compatible endpoint. */
export interface PromptsEndpointOptions {
  /** The API root (`…/v1`). */
  readonly baseUrl: string;
  /** The environment variable holding the API key. */
  readonly apiKeyEnv?: string;
  readonly concurrency?: number;
  readonly retries?: number;
  /** Keep results already in `output.jsonl` and skip those requests. */
  readonly resume?: boolean;
}

/** Options of {@link runPromptsBuild}. */
export interface RunPromptsBuildOptions {
  /** Prompts root (with `conversation/`, `detail_description/`, `complex_reasoning/`) or one kind folder. */
  readonly prompts: string;
  /** Kinds to build (default: every folder found). */
  readonly kinds?: readonly PromptKind[];
  /** LLaVA's caps-and-boxes JSONL, or COCO annotation files. */
  readonly capsBoxes?: string;
  readonly cocoCaptions?: string;
  readonly cocoInstances?: string;
  /** Use only the first N images. */
  readonly limit?: number;
  /** The model name of every request body. */
  readonly model: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** The folder of the batch files (or endpoint results) and `manifest.jsonl`. */
  readonly outDir: string;
  /** Requests and bytes per batch file (see `writeBatchFiles`). */
  readonly maxRequests?: number;
  readonly maxBytes?: number;
  /** Call this endpoint instead of writing batch files. */
  readonly endpoint?: PromptsEndpointOptions;
  /** Called as requests are written or answered, with a line to show. */
  readonly onProgress?: (done: number, total: number, text: string) => void;
}

/** What {@link runPromptsBuild} built and wrote (what `llava prompts build --json` prints). */
export interface PromptsBuildSummary extends BuildReport {
  readonly kinds: PromptKind[];
  readonly files: { path: string; requests: number; bytes: number }[];
  readonly endpoint?: { succeeded: number; failed: number; skipped: number; outputFile: string; errorFile: string };
  readonly diagnostics: Diagnostic[];
}

/**
 * Build the GPT-4 data-generation requests and write them: batch files (`batch-0001.jsonl`, …) or, with `endpoint`,
 * the endpoint's answers (`output.jsonl`, `errors.jsonl`, appended as they come so a rerun resumes), then
 * `manifest.jsonl` — unless the requests could not be written, when a manifest would describe nothing. Bad input
 * lines, failed requests and write failures are diagnostics of the summary. A missing or broken prompt folder rejects
 * (`PromptFolderError`, or an `Error` naming the folder), as does an unreadable COCO file.
 *
 * @example
 * ```ts
 * const summary = await runPromptsBuild({ prompts: 'prompts/', capsBoxes: 'caps.jsonl', model: 'gpt-4o', outDir: 'req' });
 * console.log(summary.requests, 'requests in', summary.files.length, 'files');
 * ```
 */
export async function runPromptsBuild(options: RunPromptsBuildOptions): Promise<PromptsBuildSummary> {
  const folders = await loadPromptFolders(options.prompts, options.kinds);
  const parameters = {
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.maxTokens ? { max_tokens: options.maxTokens } : {}),
  };
  const { contexts, requests, manifest, diagnostics } = await planPromptRequests({
    folders,
    ...(options.capsBoxes ? { capsBoxes: options.capsBoxes } : {}),
    ...(options.cocoCaptions ? { cocoCaptions: options.cocoCaptions } : {}),
    ...(options.cocoInstances ? { cocoInstances: options.cocoInstances } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    model: options.model,
    parameters,
  });
  const written = options.endpoint
    ? await callEndpoint(requests, options.outDir, options.endpoint, options.onProgress)
    : await writeBatches(requests, options);
  diagnostics.push(...written.diagnostics);
  const manifestPath = join(options.outDir, 'manifest.jsonl');
  // Without its batch files a manifest would describe requests that were never written.
  if (!diagnostics.some((d) => d.ruleId === 'output/write-failed')) {
    try {
      await writeManifest(manifestPath, manifest);
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      diagnostics.push(error.diagnostic);
    }
  }
  return {
    kinds: folders.map((f) => f.kind),
    images: contexts.length,
    requests: requests.length,
    manifest: manifestPath,
    files: written.files,
    ...(written.endpoint ? { endpoint: written.endpoint } : {}),
    diagnostics,
  };
}

type Requests = Awaited<ReturnType<typeof planPromptRequests>>['requests'];
type Written = Pick<PromptsBuildSummary, 'files' | 'endpoint' | 'diagnostics'>;

/** The requests as batch files; a write failure is a diagnostic (and no file is left). */
async function writeBatches(requests: Requests, options: RunPromptsBuildOptions): Promise<Written> {
  try {
    const result = await writeBatchFiles(requests, {
      outDir: options.outDir,
      ...(options.maxRequests !== undefined ? { maxRequests: options.maxRequests } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
      onProgress: (n) => options.onProgress?.(n, requests.length, `${n}/${requests.length} requests`),
    });
    return { files: result.files, diagnostics: result.diagnostics };
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    return { files: [], diagnostics: [error.diagnostic] };
  }
}

/** The requests sent to the endpoint, answers appended to `output.jsonl` / `errors.jsonl` (so not atomic: a run resumes). */
async function callEndpoint(
  requests: Requests,
  outDir: string,
  endpoint: PromptsEndpointOptions,
  onProgress: RunPromptsBuildOptions['onProgress'],
): Promise<Written> {
  const outputFile = join(outDir, 'output.jsonl');
  const errorFile = join(outDir, 'errors.jsonl');
  try {
    await mkdir(outDir, { recursive: true });
    const result = await callChatEndpoint(requests, {
      baseUrl: endpoint.baseUrl,
      ...(endpoint.apiKeyEnv !== undefined ? { apiKeyEnv: endpoint.apiKeyEnv } : {}),
      outputFile,
      errorFile,
      ...(endpoint.concurrency !== undefined ? { concurrency: endpoint.concurrency } : {}),
      ...(endpoint.retries !== undefined ? { retries: endpoint.retries } : {}),
      ...(endpoint.resume !== undefined ? { resume: endpoint.resume } : {}),
      onProgress: (p) => onProgress?.(p.done, p.total, `${p.done}/${p.total} requests, ${p.failed} failed`),
    });
    const { succeeded, failed, skipped } = result;
    return {
      files: [],
      endpoint: { succeeded, failed, skipped, outputFile, errorFile },
      diagnostics: result.diagnostics,
    };
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException)?.code !== 'string') throw error;
    const path = (error as NodeJS.ErrnoException).path;
    const target = path === outputFile || path === errorFile ? path : outDir;
    return {
      files: [],
      diagnostics: [writeFailure(target, error, target === outDir ? 'output folder' : 'results file').diagnostic],
    };
  }
}
