/**
 * `llava render` as a library call: read a data file and render every record with one of LLaVA's conversation
 * templates, one result per record read (rendered text, or the diagnostic of why LLaVA could not render it).
 */
import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { type InputSource, readRecords } from '@llavakit/reader';
import { isLlavaRecord } from '@llavakit/schema';
import { renderConversation } from './templates.js';

/** Options of {@link renderRecords}. */
export interface RenderRecordsOptions {
  /** A name of `conversationTemplates`. */
  readonly template: string;
  /** `train` (default): what training builds; `inference`: the template's `get_prompt()`. */
  readonly mode?: 'train' | 'inference';
  /** Inference: end with an empty assistant turn. */
  readonly generation?: boolean;
  /** Wrap `<image>` as `<im_start><image><im_end>`. */
  readonly mmUseImStartEnd?: boolean;
  /** Render only the first N records read. */
  readonly limit?: number;
  /** The name of the input in diagnostics (default: the path given). */
  readonly file?: string;
  /** Called after each chunk read with the bytes read so far and, for files, the total size. */
  readonly onProgress?: (bytesRead: number, totalBytes?: number) => void;
}

/** One record of {@link renderRecords}: its 0-based index in the input, its id when it has one, and its text. */
export type RenderedRecord =
  | { readonly index: number; readonly id?: unknown; readonly ok: true; readonly text: string }
  | { readonly index: number; readonly id?: unknown; readonly ok: false; readonly diagnostic: Diagnostic };

/**
 * Render each record of `input` as LLaVA's own code does (see `renderConversation`), in input order. A record that is
 * not JSON, not a LLaVA record (`render/failed`) or that LLaVA could not render (an unknown role, broken alternation)
 * comes out as `ok: false` with its diagnostic, placed by file, record index and place; every record read comes out
 * once. A file that cannot be read at all throws its `DiagnosticError` (`input/not-found`, …).
 *
 * @example
 * ```ts
 * for await (const r of renderRecords('llava_v1_5_mix665k.json', { template: 'v1', limit: 3 }))
 *   if (r.ok) console.log(r.text);
 * ```
 */
export async function* renderRecords(
  input: InputSource,
  options: RenderRecordsOptions,
): AsyncGenerator<RenderedRecord> {
  const file = options.file ?? (typeof input === 'string' ? input : undefined);
  const render = {
    template: options.template,
    mode: options.mode ?? 'train',
    generation: options.generation ?? false,
    mmUseImStartEnd: options.mmUseImStartEnd ?? false,
  };
  let index = -1;
  for await (const item of readRecords(input, {
    ...(options.file ? { file: options.file } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  })) {
    index++;
    if (options.limit !== undefined && index >= options.limit) break;
    if (!item.ok) {
      yield { index, ok: false, diagnostic: item.diagnostic };
      continue;
    }
    const value = item.value as { id?: unknown };
    const where = {
      ...(file !== undefined ? { file } : {}),
      recordIndex: index,
      place: { offset: item.place.offset, line: item.place.line, column: item.place.column },
    };
    const id = value?.id !== undefined ? { id: value.id } : {};
    if (!isLlavaRecord(value)) {
      yield {
        index,
        ...id,
        ok: false,
        diagnostic: {
          ruleId: 'render/failed',
          severity: 'error',
          message: 'Not a LLaVA record (a `conversations` list of {from, value} is needed).',
          ...where,
        },
      };
      continue;
    }
    try {
      yield { index, ...id, ok: true, text: renderConversation(value, render) };
    } catch (error) {
      if (!DiagnosticError.is(error)) throw error;
      yield {
        index,
        ...id,
        ok: false,
        diagnostic: { ...error.diagnostic, ...where, ...(value.id !== undefined ? { recordId: value.id } : {}) },
      };
    }
  }
}
