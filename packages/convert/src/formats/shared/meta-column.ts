import type { Diagnostic } from '@llavakit/diagnostics';
import type { DecodeResult, EncodeResult, RecordContext } from '@llavakit/format';
import type { LlavaRecord } from '@llavakit/schema';
import type { Placement } from '../../pipeline/image-policy.js';
import { writerRules } from '../../pipeline/rules.js';
import { applyPatch, diffRecord, META_FIELD, moveSystem, readPatch } from './meta.js';
import { fail, recordDiagnostic } from './record-diagnostics.js';
import { formatWriterRules } from './rules.js';

/** Named options of {@link attachMeta}. */
export interface MetaOptions {
  /** The record being encoded. */
  readonly original: LlavaRecord;
  /** The encoded value; the `llava_meta` column is added to it when needed. */
  readonly value: Record<string, unknown>;
  /** Decodes `value` back without its metadata (the format's own decoder). */
  readonly decodeWithoutMeta: (value: Record<string, unknown>) => LlavaRecord;
  /** Where the format itself keeps a system prompt: as a leading `system` turn, or as a `system` key. */
  readonly naturalSystem: 'turn' | 'key';
  /** `-O meta`: false writes no column. */
  readonly enabled: boolean;
  readonly context: RecordContext<object>;
  /** The `<image>` placement, when the format writes one; lets plain LLaVA records skip the comparison. */
  readonly placement?: Placement | undefined;
  /** Whether the format wrote the record's id (`-O id-field`); default true. */
  readonly idWritten?: boolean | undefined;
}

/**
 * Finish an encode: when metadata is on, compare the plain decoding of `value` with the original record (its image
 * paths as rewritten for the output, since rewriting is asked for) and store the difference in the `llava_meta`
 * column; count records that needed it. Plain LLaVA records (string id written, `image`, human/gpt turns with only
 * `from`/`value`, nothing changed by the policy) skip the comparison: they decode back as they are.
 */
export function attachMeta(options: MetaOptions): EncodeResult {
  const { original, value, decodeWithoutMeta, naturalSystem, enabled, context, placement } = options;
  const idWritten = options.idWritten ?? true;
  if (!enabled || (placement && isPlain(original, placement, idWritten))) return { ok: true, value };
  const target = rewritten(original, context);
  const split =
    target.conversations[0]?.from === 'system' ? 'turn' : typeof target.system === 'string' ? 'key' : undefined;
  const sys = split !== undefined && split !== naturalSystem ? split : undefined;
  let plain = decodeWithoutMeta(value);
  if (sys) plain = moveSystem(plain, sys);
  const patch = diffRecord(target, plain);
  if (patch || sys) {
    value[META_FIELD] = JSON.stringify(sys ? { ...patch, sys } : patch);
    context.count('llava_meta:written');
  }
  return { ok: true, value };
}

const PLAIN_KEYS = ['id', 'image', 'conversations'];

function isPlain(record: LlavaRecord, placement: Placement, idWritten: boolean): boolean {
  let at = 0;
  for (const key in record) {
    const next = PLAIN_KEYS.indexOf(key, at);
    if (next === -1) return false;
    at = next + 1;
  }
  if (record.id !== undefined && (typeof record.id !== 'string' || !idWritten)) return false;
  const image = record.image;
  const count = image === undefined ? 0 : typeof image === 'string' ? 1 : image.length;
  if (Array.isArray(image) && image.length < 2) return false;
  if (placement.images.length !== count || placement.changed.includes(true)) return false;
  for (const turn of record.conversations) {
    if (turn.from !== 'human' && turn.from !== 'gpt') return false;
    let keys = 0;
    for (const _ in turn) keys++;
    if (keys !== 2) return false;
  }
  return true;
}

/** The record with its image paths as the output holds them (after `--image-root` and the like). */
function rewritten(record: LlavaRecord, context: RecordContext<object>): LlavaRecord {
  const image = record.image;
  if (image === undefined) return record;
  if (typeof image === 'string') {
    const path = context.images.rewrite(image);
    return path === image ? record : { ...record, image: path };
  }
  const paths = image.map((p) => context.images.rewrite(p));
  return paths.every((p, i) => p === image[i]) ? record : { ...record, image: paths };
}

/** A decoding without the llava_meta column: the record, or why the value is not a record of the format. */
export type DecodedWithoutMeta = { readonly record: LlavaRecord } | { readonly error: Diagnostic };

/** The decoding failure of a record that lacks its list of turns (`/messages`, `/conversations`). */
export function missingList(source: string, pointer: string, message: string): DecodedWithoutMeta {
  return {
    error: {
      ruleId: writerRules.invalidRecord.id,
      severity: 'error',
      message,
      hint: writerRules.invalidRecord.hint,
      pointer,
      source,
    },
  };
}

/** The decoding failure of a record with a content part that cannot be read whole (no text, no path, unknown type). */
export function badPart(source: string, pointer: string, message: string): DecodedWithoutMeta {
  return {
    error: {
      ruleId: writerRules.invalidPart.id,
      severity: 'error',
      message,
      hint: writerRules.invalidPart.hint,
      pointer,
      source,
    },
  };
}

/** Unwrap the decoding of a value this package just encoded (it cannot fail). */
export function decodedOrThrow(plain: DecodedWithoutMeta): LlavaRecord {
  if ('error' in plain) throw new Error(plain.error.message);
  return plain.record;
}

/** Decode with the `llava_meta` column: plain decoding, then the stored patch. */
export function decodeWithMeta(
  value: unknown,
  context: RecordContext<object>,
  source: string,
  plainDecode: (value: Record<string, unknown>) => DecodedWithoutMeta,
): DecodeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(
      recordDiagnostic(writerRules.invalidRecord, context, source, {
        message: `A ${source} record must be a JSON object.`,
        pointer: '',
      }),
    );
  }
  const object = value as Record<string, unknown>;
  const plain = plainDecode(object);
  if ('error' in plain) return fail({ ...plain.error, file: context.file, recordIndex: context.index });
  const patch = readPatch(object[META_FIELD]);
  if (patch instanceof Error) {
    return fail(
      recordDiagnostic(formatWriterRules.badMeta, context, source, {
        message: patch.message,
        pointer: `/${META_FIELD}`,
      }),
    );
  }
  return { ok: true, record: patch ? applyPatch(plain.record, patch) : plain.record };
}

/** Copy the keys of `from` that are not in `known` onto `to` (foreign columns are kept as extra keys). */
export function copyExtras(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  known: ReadonlySet<string>,
): void {
  for (const key of Object.keys(from)) {
    if (!known.has(key) && key !== META_FIELD && !(key in to)) to[key] = from[key];
  }
}
