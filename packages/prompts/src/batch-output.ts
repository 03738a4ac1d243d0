import { type Diagnostic, diagnose } from '@llavakit/diagnostics';
import { badLine, overlongLineDiagnostic, readLines, tryJson } from './jsonl.js';
import { promptRules } from './rules.js';

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
