import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { canRead, type DetectProbe, type FormatPlugin, type RecordContext } from '@llavakit/format';
import {
  detectKind,
  type InputSource,
  type ReadItem,
  type RecordPlace,
  readRecords,
  validationKindOf,
} from '@llavakit/reader';
import { type ValidationKind, validationKinds } from '@llavakit/schema';
import { recordIdOf } from '../formats/llava/index.js';
import type { FormatRegistry } from '../plugins/registry.js';
import { chooseInputFormat, type FormatScore } from './convert.js';
import { writerRules } from './rules.js';
import { sourcePointer, withPlace } from './validate-places.js';

export { sourcePointer, withPlace };

/** How `llava validate` reads and checks one input. */
export interface ValidationPlan {
  /** The format the records are read with (`llava`: the raw records are checked as they are). */
  readonly format: FormatPlugin<object>;
  /** The validation kind the decoded records are checked as. */
  readonly kind: ValidationKind;
  /** `from`: named by `--from`; `detected`: from the records; `default`: standard input or no records. */
  readonly by: 'from' | 'detected' | 'default';
  /** Every readable format's detection score, highest first (when the format was detected). */
  readonly scores: readonly FormatScore[];
  /** Rules that do not apply to the format (its trainers accept what they would report). */
  readonly ignore: readonly string[];
  /** True when records are decoded into canonical records before they are checked. */
  readonly decode: boolean;
}

/**
 * Rules that do not apply to records decoded from a chat format: its trainers take `<image>` anywhere in any turn
 * (LLaMA-Factory, ms-swift, TRL), and image lists are the norm.
 */
const CHAT_FORMAT_IGNORES = ['image/placement', 'image/list'];

/**
 * Choose how to validate an input. `from` is a readable format name or a validation kind (`llava-next`,
 * `metadata`). Without it, a file that looks like a pretraining metadata file is checked as `metadata`; otherwise
 * the input format is detected as `convert` detects it ({@link chooseInputFormat}: a `format/ambiguous` error when
 * no format, or more than one, fits), LLaVA files get their kind from their records (`llava` or `llava-next`), and
 * records of other formats are decoded and checked as `llava-next` without the LLaVA-only rules.
 */
export async function chooseValidation(
  file: string,
  options: {
    readonly from?: string;
    readonly registry: FormatRegistry;
    /**
     * The input's first bytes and records when they were already read (a FIFO or `<(…)`, which can be read only
     * once: see `peekInput`); the file is then not opened again.
     */
    readonly probe?: DetectProbe;
  },
): Promise<ValidationPlan> {
  const { registry, from, probe } = options;
  const llava = registry.get('llava')?.format;
  if (!llava) throw new Error('The registry has no llava format.');
  const raw = (
    kind: ValidationKind,
    by: ValidationPlan['by'],
    scores: readonly FormatScore[] = [],
  ): ValidationPlan => ({
    format: llava,
    kind,
    by,
    scores,
    ignore: [],
    decode: false,
  });
  if (from && (validationKinds as readonly string[]).includes(from) && !registry.get(from)) {
    return raw(from as ValidationKind, 'from');
  }
  if (from) {
    const { format } = await chooseInputFormat(file, { from, registry }, probe);
    return format === llava ? raw('llava', 'from') : decoded(format, 'from', []);
  }
  if (file === '-') return raw('llava', 'default');
  const kind = probe ? validationKindOf(detectKind(probe.head)) : await kindOf(file);
  if (kind === 'metadata') return raw('metadata', 'detected');
  let chosen: Awaited<ReturnType<typeof chooseInputFormat>>;
  try {
    chosen = await chooseInputFormat(file, { registry }, probe);
  } catch (error) {
    // metadata records no format reads: validate them as what they are
    if (DiagnosticError.is(error) && error.diagnostic.ruleId === writerRules.metadataInput.id) {
      return raw('metadata', 'detected');
    }
    throw error;
  }
  if (chosen.format === llava) return raw(kind, chosen.by, chosen.scores);
  return decoded(chosen.format, chosen.by, chosen.scores);
}

function decoded(
  format: FormatPlugin<object>,
  by: ValidationPlan['by'],
  scores: readonly FormatScore[],
): ValidationPlan {
  if (!canRead(format)) throw new Error(`Format ${format.name} cannot read.`);
  // a LLaVA-shaped reader (llava-qa) keeps LLaVA's rules; chat formats drop the LLaVA-only ones
  const llavaLike = format.name.startsWith('llava');
  return {
    format,
    kind: llavaLike ? 'llava' : 'llava-next',
    by,
    scores,
    ignore: llavaLike ? [] : CHAT_FORMAT_IGNORES,
    decode: true,
  };
}

async function kindOf(file: string): Promise<ValidationKind> {
  const head: ReadItem[] = [];
  try {
    for await (const item of readRecords(file, { file })) {
      head.push(item);
      if (head.length >= 20) break;
    }
  } catch {
    // reported when the file is read for real
  }
  return validationKindOf(detectKind(head, file));
}

/** One record of an input being validated: the value to check (canonical when decoded), or why it is unreadable. */
export type ValidationItem =
  | {
      readonly ok: true;
      /** The value to check: the raw record, or the canonical record decoded from it. */
      readonly value: unknown;
      /** The record as written in the file (same as `value` when not decoded). */
      readonly raw: unknown;
      readonly place: RecordPlace;
      /** The raw JSON text, when `value` is the raw record (lets diagnostics quote the offending line). */
      readonly text?: string;
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly place: RecordPlace };

/**
 * Read an input for validation as the plan says: raw records (with their text), or records decoded by the plan's
 * format (a record the format cannot decode comes out with its diagnostics, located at the record). Syntax errors
 * come out as items; a fatal read error throws its `DiagnosticError`.
 */
export async function* readForValidation(
  input: InputSource,
  plan: ValidationPlan,
  options: {
    readonly file: string;
    readonly onProgress?: (bytesRead: number, totalBytes?: number) => void;
    readonly signal?: AbortSignal;
    /** Only the records whose 0-based index passes (a shard, see `selectShard`). Default: every record. */
    readonly keepRecord?: (index: number) => boolean;
  },
): AsyncGenerator<ValidationItem> {
  const { keepRecord, ...rest } = options;
  if (keepRecord) {
    for await (const item of readForValidation(input, plan, rest)) if (keepRecord(item.place.index)) yield item;
    return;
  }
  if (plan.decode && !plan.format.decode && plan.format.read) {
    // a stream-level format (tar shards, Parquet, …) reads its container itself
    const context = {
      options: plan.format.optionsSchema ? (plan.format.optionsSchema.parse({}) as object) : {},
      file: options.file,
      report: () => undefined,
      count: () => undefined,
      images: { rewrite: (path: string) => path, readBytes: async () => undefined },
      ...(options.signal ? { signal: options.signal } : {}),
    };
    for await (const result of plan.format.read(input, context)) {
      const place = result.place ?? { index: result.index, offset: -1, line: 0, column: 0, length: -1 };
      if (result.ok) yield { ok: true, value: result.record, raw: result.record, place };
      else yield { ok: false, place, diagnostics: result.diagnostics.map((d) => withPlace(d, place)) };
    }
    return;
  }
  const items = readRecords(input, {
    file: options.file,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const decode = plan.decode ? plan.format.decode : undefined;
  const context: RecordContext<object> & { index: number } = {
    options: plan.format.optionsSchema ? (plan.format.optionsSchema.parse({}) as object) : {},
    file: options.file,
    index: 0,
    report: () => undefined,
    count: () => undefined,
    images: { rewrite: (path) => path, readBytes: async () => undefined },
  };
  for await (const item of items) {
    if (!item.ok) {
      yield { ok: false, diagnostics: [withPlace(item.diagnostic, item.place)], place: item.place };
      continue;
    }
    if (!decode) {
      yield { ok: true, value: item.value, raw: item.value, place: item.place, text: item.text };
      continue;
    }
    context.index = item.place.index;
    const result = decode(item.value, context);
    if (result.ok) {
      yield { ok: true, value: result.record, raw: item.value, place: item.place };
      continue;
    }
    const id = recordIdOf(item.value);
    yield {
      ok: false,
      place: item.place,
      diagnostics: result.diagnostics.map((d) =>
        withPlace({ ...d, ...(id !== undefined && d.recordId === undefined ? { recordId: id } : {}) }, item.place),
      ),
    };
  }
}
