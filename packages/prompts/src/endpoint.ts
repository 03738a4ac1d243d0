import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import type { BatchOutputLine } from './batch-output.js';
import type { ChatRequest } from './request.js';
import { promptRules } from './rules.js';

/** Options of {@link callChatEndpoint}. */
export interface CallChatEndpointOptions {
  /** Base URL of an OpenAI-compatible API, including the version path (`http://127.0.0.1:8000/v1`); requests go to `<baseUrl>/chat/completions`. */
  readonly baseUrl: string;
  /** Name of the environment variable that holds the API key (sent as `Authorization: Bearer …`). Default `OPENAI_API_KEY`; when it is unset no header is sent. */
  readonly apiKeyEnv?: string;
  /** Results go here, one Batch-output-shaped line per success (appended; see `resume`). */
  readonly outputFile: string;
  /** Failures (after retries) go here, one Batch-error-shaped line each; rewritten on each run. */
  readonly errorFile: string;
  /** Requests in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Retries after the first attempt, for network errors, 408, 409, 429 and 5xx. Default 5. */
  readonly retries?: number;
  /** First backoff delay in ms (doubled each retry, with jitter; `Retry-After` is honoured). Default 1000. */
  readonly baseDelayMs?: number;
  /** Longest backoff delay in ms. Default 60000. */
  readonly maxDelayMs?: number;
  /** Keep successful results already in `outputFile` and skip their requests. Default true. */
  readonly resume?: boolean;
  /** Timeout of one HTTP attempt in ms. Default 600000. */
  readonly timeoutMs?: number;
  /** Called after each request finishes (success, failure or skipped). */
  readonly onProgress?: (progress: { done: number; total: number; failed: number; skipped: number }) => void;
  /** Stop early (in-flight requests are aborted; finished results stay written). */
  readonly signal?: AbortSignal;
  /** The environment to read the key from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Result of {@link callChatEndpoint}. */
export interface CallChatEndpointResult {
  /** Requests answered in this run. */
  readonly succeeded: number;
  /** Requests that failed after all retries (written to the error file). */
  readonly failed: number;
  /** Requests skipped because `outputFile` already had their result. */
  readonly skipped: number;
  readonly diagnostics: Diagnostic[];
}

const RETRY_STATUS = new Set([408, 409, 429]);

/**
 * Send chat requests straight to an OpenAI-compatible endpoint instead of the Batch API, with bounded
 * concurrency, retries with exponential backoff, and resume: results are written in the Batch output shape
 * (`{id, custom_id, response: {status_code, body}, error}`), so `joinBatchOutput` and the parser work the same
 * on both. With `resume` (default), successful results already in `outputFile` are kept and their requests
 * skipped; a partial last line left by an interrupted run is cut off.
 *
 * @example
 * ```ts
 * await callChatEndpoint(requests, { baseUrl: 'http://127.0.0.1:8000/v1', outputFile: 'out.jsonl', errorFile: 'err.jsonl' });
 * ```
 */
export async function callChatEndpoint(
  requests: readonly ChatRequest[],
  options: CallChatEndpointOptions,
): Promise<CallChatEndpointResult> {
  const diagnostics: Diagnostic[] = [];
  const env = options.env ?? process.env;
  const key = env[options.apiKeyEnv ?? 'OPENAI_API_KEY'];
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const retries = Math.max(0, options.retries ?? 5);
  const baseDelay = options.baseDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 60_000;

  const done = new Set<string>();
  if (options.resume !== false) {
    for (const id of await finishedIds(options.outputFile, diagnostics)) done.add(id);
  } else {
    await writeFile(options.outputFile, '');
  }
  await writeFile(options.errorFile, '');
  const out = await open(options.outputFile, 'a');
  const err = await open(options.errorFile, 'a');
  let writing = Promise.resolve();
  const append = (handle: typeof out, line: object) => {
    writing = writing.then(() => handle.write(`${JSON.stringify(line)}\n`).then(() => undefined));
    return writing;
  };

  const todo = requests.filter((r) => !done.has(r.custom_id));
  const progress = { done: 0, total: requests.length, failed: 0, skipped: requests.length - todo.length };
  let succeeded = 0;
  let next = 0;
  let counter = 0;

  const worker = async () => {
    while (next < todo.length) {
      if (options.signal?.aborted) return;
      const request = todo[next++]!;
      const outcome = await attempt(request);
      counter++;
      const lineId = `local_req_${counter}`;
      if (outcome.ok) {
        succeeded++;
        await append(out, {
          id: lineId,
          custom_id: request.custom_id,
          response: { status_code: outcome.status, request_id: outcome.requestId ?? '', body: outcome.body },
          error: null,
        });
      } else {
        progress.failed++;
        await append(err, {
          id: lineId,
          custom_id: request.custom_id,
          // As in Batch error files: an HTTP failure keeps its response and has no `error`; a network failure has no response.
          response: outcome.status ? { status_code: outcome.status, body: outcome.body ?? null } : null,
          error: outcome.status ? null : { code: 'network_error', message: outcome.message },
        });
        diagnostics.push(
          diagnose(promptRules.requestFailed, {
            message: `Request \`${request.custom_id}\` failed after ${outcome.attempts} attempt(s): ${outcome.message}`,
            recordId: request.custom_id,
            source: 'prompts',
            data: { customId: request.custom_id, statusCode: outcome.status },
          }),
        );
      }
      progress.done++;
      options.onProgress?.({ ...progress, done: progress.done + progress.skipped });
    }
  };

  type Outcome =
    | { ok: true; status: number; body: unknown; requestId?: string }
    | { ok: false; status?: number; body?: unknown; message: string; attempts: number };

  const attempt = async (request: ChatRequest): Promise<Outcome> => {
    let last: Outcome = { ok: false, message: 'not sent', attempts: 0 };
    for (let i = 0; i <= retries; i++) {
      if (options.signal?.aborted) return { ok: false, message: 'aborted', attempts: i };
      let retryAfterMs: number | undefined;
      try {
        const signals = [AbortSignal.timeout(options.timeoutMs ?? 600_000)];
        if (options.signal) signals.push(options.signal);
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify(request.body),
          signal: AbortSignal.any(signals),
        });
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the raw text
        }
        if (response.ok) {
          const requestId = response.headers.get('x-request-id') ?? undefined;
          return { ok: true, status: response.status, body, ...(requestId ? { requestId } : {}) };
        }
        const message =
          (body as { error?: { message?: string } } | undefined)?.error?.message ?? `HTTP ${response.status}`;
        last = { ok: false, status: response.status, body, message, attempts: i + 1 };
        if (!(RETRY_STATUS.has(response.status) || response.status >= 500)) return last;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has('retry-after')) {
          retryAfterMs = retryAfter * 1000;
        }
      } catch (error) {
        last = { ok: false, message: (error as Error).message, attempts: i + 1 };
        if (options.signal?.aborted) return last;
      }
      if (i < retries) {
        const backoff = Math.min(maxDelay, baseDelay * 2 ** i) * (0.5 + Math.random() * 0.5);
        await sleep(Math.min(maxDelay, Math.max(backoff, retryAfterMs ?? 0)), options.signal);
      }
    }
    return last;
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
    await writing;
  } finally {
    await out.close();
    await err.close();
  }
  return { succeeded, failed: progress.failed, skipped: progress.skipped, diagnostics };
}

/** custom_ids with a successful result in an existing output file; cuts off a partial last line. */
async function finishedIds(path: string, diagnostics: Diagnostic[]): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    await writeFile(path, '');
    return [];
  }
  if (text.length > 0 && !text.endsWith('\n')) {
    const keep = text.lastIndexOf('\n') + 1;
    await truncate(path, Buffer.byteLength(text.slice(0, keep), 'utf8'));
    diagnostics.push(
      diagnose(promptRules.badLine, {
        severity: 'warning',
        message:
          'The output file ended with a partial line (an interrupted run); it was cut off and its request is sent again.',
        file: path,
        source: 'prompts',
      }),
    );
    text = text.slice(0, keep);
  }
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as BatchOutputLine;
      if (typeof value.custom_id === 'string' && value.response?.status_code === 200 && !value.error) {
        ids.push(value.custom_id);
      }
    } catch {
      // a broken middle line: its request is sent again
    }
  }
  return ids;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
