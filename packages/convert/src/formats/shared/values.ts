import { IMAGE_TOKEN, type LlavaRecord } from '@llavakit/schema';

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

/** The id a target writes: as a string (Arrow needs one type per column). */
export function stringId(record: LlavaRecord): string | undefined {
  return record.id === undefined ? undefined : String(record.id);
}
