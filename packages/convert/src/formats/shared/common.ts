import { type Diagnostic, diagnose, type RuleMeta } from '@llavakit/diagnostics';
import type { DecodeResult, EncodeResult, RecordContext } from '@llavakit/format';
import { IMAGE_TOKEN, imagesOf, type LlavaRecord, type Turn, VIDEO_TOKEN, videosOf } from '@llavakit/schema';
import { type ImageTokenPolicy, type Placement, placeImages } from '../../pipeline/image-policy.js';
import { writerRules } from '../../pipeline/rules.js';
import { applyPatch, diffRecord, META_FIELD, moveSystem, readPatch } from './meta.js';
import { formatWriterRules } from './rules.js';

/** Make a diagnostic about the record being encoded or decoded, with its place filled in. */
export function recordDiagnostic(
  rule: RuleMeta,
  context: RecordContext<object>,
  source: string,
  fields: { message: string; pointer?: string; recordId?: string | number | undefined; data?: Record<string, unknown> },
): Diagnostic {
  const { recordId, ...rest } = fields;
  return diagnose(rule, {
    ...rest,
    file: context.file,
    recordIndex: context.index,
    source,
    ...(recordId !== undefined ? { recordId } : {}),
  });
}

/** A failed encode/decode with one diagnostic. */
export function fail(diagnostic: Diagnostic): { ok: false; diagnostics: Diagnostic[] } {
  return { ok: false, diagnostics: [diagnostic] };
}

/**
 * Map every turn's LLaVA role (`human`, `gpt`, …) to a chat role (`user`, `assistant`, …), or fail on the first role
 * the target cannot take. `system` is accepted only as the first turn when `systemFirstOnly`.
 */
export function chatRolesOf(
  record: LlavaRecord,
  allowed: ReadonlySet<string>,
  context: RecordContext<object>,
  source: string,
  takes: string,
  systemFirstOnly: boolean,
): { ok: true; roles: string[] } | { ok: false; diagnostics: Diagnostic[] } {
  const turns = record.conversations;
  const roles: string[] = new Array(turns.length);
  for (let i = 0; i < turns.length; i++) {
    const from = turns[i]!.from;
    const role = TO_CHAT_ROLE[from] ?? from;
    if (!allowed.has(role) || (systemFirstOnly && role === 'system' && i > 0)) {
      return fail(
        recordDiagnostic(writerRules.unsupportedRole, context, source, {
          message: `Turn ${i} has role "${from}"; ${takes}.`,
          pointer: `/conversations/${i}/from`,
          recordId: record.id,
        }),
      );
    }
    roles[i] = role;
  }
  return { ok: true, roles };
}

/** The system prompt of a record as a target with one system slot sees it. */
export interface SystemSplit {
  /** The system prompt, if any. */
  readonly system: string | undefined;
  /** Where it came from (`turn`: a leading `system` turn; `key`: a `system` key). */
  readonly from: 'turn' | 'key' | undefined;
  /** The turns after the system turn. */
  readonly turns: readonly Turn[];
  /** Index of `turns[0]` in the record's conversations. */
  readonly offset: number;
}

/** Split off the system prompt: a leading `system` turn wins over a `system` key (which then goes to metadata). */
export function splitSystem(record: LlavaRecord): SystemSplit {
  const first = record.conversations[0];
  if (first?.from === 'system') {
    return { system: first.value, from: 'turn', turns: record.conversations.slice(1), offset: 1 };
  }
  if (typeof record.system === 'string') {
    return { system: record.system, from: 'key', turns: record.conversations, offset: 0 };
  }
  return { system: undefined, from: undefined, turns: record.conversations, offset: 0 };
}

/** Run the `<image>` policy on the turns, or build the `image/count-mismatch` rejection. */
export function place(
  record: LlavaRecord,
  turns: readonly Turn[],
  policy: ImageTokenPolicy,
  context: RecordContext<object>,
  source: string,
  requireMatch = true,
  parts = false,
): { ok: true; placement: Placement } | { ok: false; diagnostics: Diagnostic[] } {
  const images = imagesOf(record);
  const placement = placeImages(turns, images, policy, { requireMatch, parts });
  if (placement.ok) {
    for (const event of placement.events) context.count(event);
    return { ok: true, placement };
  }
  return fail(
    recordDiagnostic(writerRules.imageCountMismatch, context, source, {
      message: `${placement.message.replace('the target', `${source} (--image-token ${policy})`)}`,
      pointer: images.length === 0 ? '/conversations' : '/image',
      recordId: record.id,
      data: { images: placement.images, tokens: placement.tokens, policy },
    }),
  );
}

/**
 * Map a record's videos to the target's `<video>` slots: the `<video>` tokens must match the videos one to one. A
 * record written as LLaVA-Video writes it (videos, no image, no `<video>` token, one `<image>` per video) gets its
 * `<image>` tokens read as `<video>` (counted as `video-token:from-image`). Anything else is rejected with
 * `video/count-mismatch`, so a video is never written without its slot.
 */
export function placeVideos(
  record: LlavaRecord,
  turns: readonly Turn[],
  context: RecordContext<object>,
  source: string,
): { ok: true; turns: readonly Turn[]; videos: string[] } | { ok: false; diagnostics: Diagnostic[] } {
  const videos = videosOf(record);
  let tokens = 0;
  let imageTokens = 0;
  for (const turn of turns) {
    if (turn.value.includes(VIDEO_TOKEN)) tokens += countToken(turn.value, VIDEO_TOKEN);
    if (turn.value.includes(IMAGE_TOKEN)) imageTokens += countToken(turn.value, IMAGE_TOKEN);
  }
  if (videos.length === tokens) return { ok: true, turns, videos };
  if (tokens === 0 && imageTokens === videos.length && record.image === undefined) {
    context.count('video-token:from-image');
    const mapped = turns.map((turn) =>
      turn.value.includes(IMAGE_TOKEN) ? { ...turn, value: turn.value.replaceAll(IMAGE_TOKEN, VIDEO_TOKEN) } : turn,
    );
    return { ok: true, turns: mapped, videos };
  }
  return fail(
    recordDiagnostic(writerRules.videoCountMismatch, context, source, {
      message: `The record has ${videos.length} video(s) but ${tokens} ${VIDEO_TOKEN} token(s); ${source} needs one token per video.`,
      pointer: videos.length === 0 ? '/conversations' : '/video',
      recordId: record.id,
      data: { videos: videos.length, tokens },
    }),
  );
}

function countToken(text: string, token: string): number {
  let count = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) count++;
  return count;
}

/**
 * Finish an encode: when metadata is on, compare the plain decoding of `value` with the original record (its image
 * paths as rewritten for the output, since rewriting is asked for) and store the difference in the `llava_meta`
 * column; count records that needed it. Plain LLaVA records (string id written, `image`, human/gpt turns with only
 * `from`/`value`, nothing changed by the policy) skip the comparison: they decode back as they are.
 */
export function withMeta(
  original: LlavaRecord,
  value: Record<string, unknown>,
  plainDecode: (value: Record<string, unknown>) => LlavaRecord,
  naturalSystem: 'turn' | 'key',
  meta: boolean,
  context: RecordContext<object>,
  placement?: Placement,
  idWritten = true,
): EncodeResult {
  if (!meta || (placement && isPlain(original, placement, idWritten))) return { ok: true, value };
  const target = rewritten(original, context);
  const split =
    target.conversations[0]?.from === 'system' ? 'turn' : typeof target.system === 'string' ? 'key' : undefined;
  const sys = split !== undefined && split !== naturalSystem ? split : undefined;
  let plain = plainDecode(value);
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

/** A plain decoding: the record, or why the value is not a record of the format. */
export type Plain = { readonly record: LlavaRecord } | { readonly error: Diagnostic };

/** The decoding failure of a record that lacks its list of turns (`/messages`, `/conversations`). */
export function missingList(source: string, pointer: string, message: string): Plain {
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
export function badPart(source: string, pointer: string, message: string): Plain {
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

/** Unwrap a plain decoding of a value this package just encoded (it cannot fail). */
export function plainOrThrow(plain: Plain): LlavaRecord {
  if ('error' in plain) throw new Error(plain.error.message);
  return plain.record;
}

/** Decode with the `llava_meta` column: plain decoding, then the stored patch. */
export function decodeWithMeta(
  value: unknown,
  context: RecordContext<object>,
  source: string,
  plainDecode: (value: Record<string, unknown>) => Plain,
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

/** The LLaVA `image` value for a list of paths: absent, one string, or a list. */
export function imageValue(images: readonly string[]): string | string[] | undefined {
  if (images.length === 0) return undefined;
  return images.length === 1 ? images[0]! : [...images];
}

/** The LLaVA `video` value for a list of paths: absent, one string, or a list. */
export const videoValue = imageValue;

/** Join text pieces and image slots back into a LLaVA text. */
export function joinParts(parts: readonly (string | null)[]): string {
  let text = '';
  for (const part of parts) text += part === null ? IMAGE_TOKEN : part;
  return text;
}

/** The id a target writes: as a string (Arrow needs one type per column). */
export function stringId(record: LlavaRecord): string | undefined {
  return record.id === undefined ? undefined : String(record.id);
}

/** A new output record that starts with the record's id as a string, when the format writes ids (`idField`). */
export function outputWithId(record: LlavaRecord, idField: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const id = idField ? stringId(record) : undefined;
  if (id !== undefined) out.id = id;
  return out;
}

/** A value read from a target record as an object: itself when it is one, else an empty object. */
export function asObject(value: unknown): Record<string, unknown> {
  return (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
}

/** The strings of a list read from a target record (an `images` column); `[]` when it is no list. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

/** Parse a plain id from a target record: keep strings and integers as they are. */
export function plainId(value: unknown): string | number | undefined {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) ? value : undefined;
}

/** Role names: LLaVA (`human`/`gpt`) to chat (`user`/`assistant`) and back. */
export const TO_CHAT_ROLE: Readonly<Record<string, string>> = { human: 'user', gpt: 'assistant', system: 'system' };
export const FROM_CHAT_ROLE: Readonly<Record<string, string>> = { user: 'human', assistant: 'gpt', system: 'system' };

/**
 * Score a detection probe record by record: the mean of the records' scores (a record that is not an object, or
 * not of the format, scores 0), so a file is taken as a format only when its records look like it, and one broken
 * record among them lowers every candidate alike. 0 when there are no records.
 */
export function scoreRecords(values: readonly unknown[], score: (value: Record<string, unknown>) => number): number {
  if (values.length === 0) return 0;
  let total = 0;
  for (const value of values) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const s = score(value as Record<string, unknown>);
    if (s > 0) total += Math.min(1, s);
  }
  return total / values.length;
}

/** The turns of a `messages` list when every one is an object with a string `role`; else `undefined`. */
export function chatTurns(value: unknown): Record<string, unknown>[] | undefined {
  if (!Array.isArray(value)) return undefined;
  for (const m of value) {
    if (typeof m !== 'object' || m === null || typeof (m as { role?: unknown }).role !== 'string') return undefined;
  }
  return value as Record<string, unknown>[];
}

/** True when every turn of a `conversations` list is an object with string `from` and `value`. */
export function isFromValueList(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const t of value) {
    if (typeof t !== 'object' || t === null) return false;
    const turn = t as { from?: unknown; value?: unknown };
    if (typeof turn.from !== 'string' || typeof turn.value !== 'string') return false;
  }
  return true;
}

/** The content parts of chat turns: `strings` when every content is a string, else each part's `type` and keys. */
export function partTypes(turns: readonly Record<string, unknown>[]): {
  strings: boolean;
  parts: Record<string, unknown>[];
} {
  const parts: Record<string, unknown>[] = [];
  let strings = true;
  for (const turn of turns) {
    const content = turn.content;
    if (typeof content === 'string') continue;
    strings = false;
    if (!Array.isArray(content)) continue;
    for (const part of content) parts.push(asObject(part));
  }
  return { strings, parts };
}
