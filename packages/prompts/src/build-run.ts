/**
 * The planning half of `llava prompts build` as library calls: the prompt folders to use, the image contexts
 * (COCO annotations or caps-and-boxes JSON Lines), and the requests with their manifest. Sending them (batch files
 * or an endpoint) is `writeBatchFiles` / `callChatEndpoint`.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Diagnostic, formatDiagnostic } from '@llavakit/diagnostics';
import { cocoContexts, type ImageContext, readCapsBoxesJsonl } from './context.js';
import { loadPromptFolder, loadPromptSet, type PromptFolder } from './folder.js';
import { type PromptKind, toPromptKind } from './kinds.js';
import { buildChatRequests, type ChatRequest, type ManifestEntry } from './request.js';

/**
 * The prompt folders under `path`: the folder itself when it is named after a kind (`conversation/`), else every
 * kind folder in it; only `kinds` when given. Rejects with a plain `Error` when the folder or a kind is missing,
 * and with a `PromptFolderError` when a folder is broken.
 */
export async function loadPromptFolders(path: string, kinds?: readonly PromptKind[]): Promise<PromptFolder[]> {
  const single = toPromptKind(basename(path.replace(/[\\/]+$/, '')));
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new Error(`Prompt folder not found: ${path}`);
  let folders: PromptFolder[];
  if (single) folders = [await loadPromptFolder(path)];
  else folders = Object.values(await loadPromptSet(path));
  if (kinds && kinds.length > 0) {
    const missing = kinds.filter((k) => !folders.some((f) => f.kind === k));
    if (missing.length > 0) throw new Error(`No prompt folder for: ${missing.join(', ')}`);
    folders = folders.filter((f) => kinds.includes(f.kind));
  }
  return folders;
}

/** Options of {@link planPromptRequests}. */
export interface PlanPromptRequestsOptions {
  readonly folders: readonly PromptFolder[];
  /** A caps-and-boxes JSON Lines file; else `cocoCaptions` (and `cocoInstances`). */
  readonly capsBoxes?: string;
  readonly cocoCaptions?: string;
  readonly cocoInstances?: string;
  /** Use only the first N images. */
  readonly limit?: number;
  readonly model: string;
  /** Extra body parameters (`temperature`, `max_tokens`). */
  readonly parameters?: Record<string, unknown>;
}

/** The requests to send, the manifest that turns their results back into records, and the problems found. */
export interface PromptRequestPlan {
  readonly contexts: readonly ImageContext[];
  readonly requests: ChatRequest[];
  readonly manifest: ManifestEntry[];
  readonly diagnostics: Diagnostic[];
}

/**
 * Read the image contexts and build one request per image and kind. Bad annotation lines are diagnostics; an
 * unreadable COCO file rejects.
 */
export async function planPromptRequests(options: PlanPromptRequestsOptions): Promise<PromptRequestPlan> {
  const diagnostics: Diagnostic[] = [];
  let contexts: ImageContext[];
  if (options.capsBoxes) {
    const result = await readCapsBoxesJsonl(options.capsBoxes);
    contexts = result.contexts;
    diagnostics.push(...result.diagnostics);
  } else {
    const result = await cocoContexts({
      captionsFile: options.cocoCaptions!,
      ...(options.cocoInstances ? { instancesFile: options.cocoInstances } : {}),
    });
    contexts = result.contexts;
    diagnostics.push(...result.diagnostics);
  }
  if (options.limit !== undefined) contexts = contexts.slice(0, options.limit);
  const manifest: ManifestEntry[] = [];
  const requests: ChatRequest[] = [];
  for (const built of buildChatRequests(options.folders, contexts, {
    model: options.model,
    parameters: options.parameters ?? {},
  })) {
    manifest.push(built.manifest);
    requests.push(built.request);
  }
  return { contexts, requests, manifest, diagnostics };
}

/** What a build run did, for {@link renderBuildReport}. */
export interface BuildReport {
  readonly kinds: readonly PromptKind[];
  readonly images: number;
  readonly requests: number;
  readonly manifest: string;
  readonly files: readonly { path: string; requests: number; bytes: number }[];
  readonly endpoint?: { succeeded: number; failed: number; skipped: number; outputFile: string; errorFile: string };
  readonly diagnostics: readonly Diagnostic[];
}

/** The text report of a build run: its first 50 diagnostics, then what was built and written. */
export function renderBuildReport(report: BuildReport): string[] {
  const { diagnostics, endpoint } = report;
  const out = diagnostics.slice(0, 50).map((d) => formatDiagnostic(d));
  if (diagnostics.length > 50) out.push(`… and ${diagnostics.length - 50} more diagnostics`);
  const lines = [`Built ${report.requests} requests (${report.kinds.join(', ')}) for ${report.images} images`];
  for (const f of report.files) lines.push(`  ${f.path}: ${f.requests} requests, ${f.bytes} bytes`);
  if (endpoint) {
    lines.push(`  ${endpoint.succeeded} answered, ${endpoint.failed} failed, ${endpoint.skipped} already done`);
    lines.push(`  results: ${endpoint.outputFile}, failures: ${endpoint.errorFile}`);
  }
  lines.push(`  manifest: ${report.manifest}`);
  out.push(lines.join('\n'));
  return out;
}
