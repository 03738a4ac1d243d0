import type { Diagnostic } from '@llavakit/diagnostics';
import { diagnose } from '@llavakit/diagnostics';
import type { LlavaRecord } from '@llavakit/schema';
import type { BatchResult } from './batch-output.js';
import type { PromptKind } from './kinds.js';
import { type ImagePlacement, parseResponse } from './parse.js';
import { type ManifestEntry, splitCustomId } from './request.js';
import { promptRules } from './rules.js';

/** Options of {@link parseResults}. */
export interface ParseResultsOptions {
  /** Manifest entries (kind, id and image per custom_id); without one, kind and id come from the custom_id and the image is `<id>.jpg`. */
  readonly manifest?: readonly ManifestEntry[];
  readonly imagePlacement?: ImagePlacement;
  readonly seed?: number | string;
  /** Response layout: `qa` (current prompts) or `jsonl` (early conversation prompts). Default `qa`. */
  readonly format?: 'qa' | 'jsonl';
  /** File named in diagnostics. */
  readonly file?: string;
}

/** One parsed record with its kind and custom_id. */
export interface ParsedRecord {
  readonly customId: string;
  readonly kind: PromptKind;
  readonly record: LlavaRecord;
}

/** Result of {@link parseResults}. */
export interface ParseResultsResult {
  readonly records: ParsedRecord[];
  readonly diagnostics: Diagnostic[];
  /** Successful results that gave no record (malformed responses, unknown kind). */
  readonly rejected: number;
}

/**
 * Turn joined Batch results into LLaVA records with {@link parseResponse}: failed results are skipped (they were
 * reported by `joinBatchOutput`), malformed responses are reported and kept out, responses cut off by the token
 * limit are kept with a `prompts/truncated-response` warning. Records come out in result order.
 */
export function parseResults(results: Iterable<BatchResult>, options: ParseResultsOptions = {}): ParseResultsResult {
  const byId = new Map(options.manifest?.map((e) => [e.custom_id, e]));
  const records: ParsedRecord[] = [];
  const diagnostics: Diagnostic[] = [];
  let rejected = 0;
  let index = -1;
  for (const result of results) {
    index++;
    if (!result.ok) continue;
    const entry = byId.get(result.customId);
    const split = entry ?? splitCustomId(result.customId);
    if (!split) {
      rejected++;
      diagnostics.push(
        diagnose(promptRules.unknownKind, {
          message: `Cannot tell the kind of \`${result.customId}\`: it is not in the manifest and has no \`<kind>:\` prefix.`,
          recordId: result.customId,
          recordIndex: index,
          source: 'prompts',
        }),
      );
      continue;
    }
    const parsed = parseResponse(split.kind, result.content, {
      customId: result.customId,
      id: split.id,
      ...(entry ? { image: entry.image } : {}),
      ...(options.imagePlacement ? { imagePlacement: options.imagePlacement } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.format ? { format: options.format } : {}),
      ...(options.file ? { file: options.file } : {}),
      recordIndex: index,
    });
    diagnostics.push(...parsed.diagnostics);
    if (!parsed.record) {
      rejected++;
      continue;
    }
    if (result.finishReason === 'length') {
      diagnostics.push(
        diagnose(promptRules.truncatedResponse, {
          message: `The response of \`${result.customId}\` stopped at the token limit.`,
          recordId: result.customId,
          recordIndex: index,
          source: 'prompts',
        }),
      );
    }
    records.push({ customId: result.customId, kind: split.kind, record: parsed.record });
  }
  return { records, diagnostics, rejected };
}
