import type { LlavaRecord } from '@llavakit/schema';

/** The name of the JSON-string column that carries what a target format has no place for. */
export const META_FIELD = 'llava_meta';

/**
 * What a decoder needs, beyond the target record itself, to give back the original LLaVA record exactly. Stored as
 * a JSON string in the {@link META_FIELD} column (one Arrow type for every row), only when not empty.
 */
export interface LlavaPatch {
  /** Top-level keys whose original value differs from (or is missing in) the plain decoding: id type, extra keys… */
  set?: Record<string, unknown>;
  /** Keys the plain decoding produces that the original did not have. */
  del?: string[];
  /** Original turns that differ from the plain decoding, by index (text changed by a policy, extra turn keys…). */
  turns?: Record<string, unknown>;
  /** The original number of turns, when it differs. */
  n?: number;
  /** The original order of the top-level keys, when it differs. */
  order?: string[];
  /** Where the system prompt was: `turn` (a leading `system` turn) or `key` (a top-level `system` key). */
  sys?: 'turn' | 'key';
}

/** Structural equality of JSON values, including the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const key = ka[i]!;
    if (key !== kb[i]) return false;
    if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Move the system prompt of a record: `turn` turns a string `system` key into a leading `{from: 'system'}` turn,
 * `key` does the reverse (only for a turn with exactly `from` and `value`). Returns a new record when it moves.
 */
export function moveSystem(record: LlavaRecord, to: 'turn' | 'key'): LlavaRecord {
  if (to === 'turn') {
    if (typeof record.system !== 'string') return record;
    const { system, ...rest } = record;
    return { ...rest, conversations: [{ from: 'system', value: system }, ...record.conversations] };
  }
  const first = record.conversations[0];
  if (first?.from !== 'system' || Object.keys(first).length !== 2 || 'system' in record) return record;
  return { ...record, system: first.value, conversations: record.conversations.slice(1) };
}

/**
 * The patch that turns `plain` (what a decoder gives without metadata) into `original`; `undefined` when they are
 * already equal.
 */
export function diffRecord(original: LlavaRecord, plain: LlavaRecord): LlavaPatch | undefined {
  const patch: LlavaPatch = {};
  const o = original as Record<string, unknown>;
  const p = plain as Record<string, unknown>;
  let set: Record<string, unknown> | undefined;
  for (const key of Object.keys(o)) {
    if (key === 'conversations') continue;
    if (!(key in p) || !sameJson(o[key], p[key])) (set ??= {})[key] = o[key];
  }
  if (set) patch.set = set;
  const del = Object.keys(p).filter((key) => !(key in o));
  if (del.length > 0) patch.del = del;
  const ot = original.conversations;
  const pt = plain.conversations;
  let turns: Record<string, unknown> | undefined;
  for (let i = 0; i < ot.length; i++) {
    if (i >= pt.length || !sameTurn(ot[i]!, pt[i]!)) (turns ??= {})[i] = ot[i];
  }
  if (turns) patch.turns = turns;
  if (ot.length !== pt.length) patch.n = ot.length;
  const originalOrder = Object.keys(o);
  const resultOrder = Object.keys(p).filter((key) => key in o);
  for (const key of originalOrder) if (!(key in p)) resultOrder.push(key);
  if (!sameJson(originalOrder, resultOrder)) patch.order = originalOrder;
  return patch.set || patch.del || patch.turns || patch.n !== undefined || patch.order ? patch : undefined;
}

function sameTurn(a: object, b: object): boolean {
  const x = a as { from?: unknown; value?: unknown };
  const y = b as { from?: unknown; value?: unknown };
  if (x.from !== y.from || x.value !== y.value) return false;
  return sameJson(a, b);
}

/** Apply a {@link LlavaPatch} to a plainly decoded record. */
export function applyPatch(plain: LlavaRecord, patch: LlavaPatch): LlavaRecord {
  let record = patch.sys ? moveSystem(plain, patch.sys) : plain;
  const out: Record<string, unknown> = { ...record };
  for (const key of patch.del ?? []) delete out[key];
  if (patch.set) for (const [key, value] of Object.entries(patch.set)) out[key] = value;
  if (patch.turns || patch.n !== undefined) {
    const n = patch.n ?? record.conversations.length;
    const turns: unknown[] = [];
    for (let i = 0; i < n; i++) turns.push(patch.turns?.[i] ?? record.conversations[i]);
    out.conversations = turns.filter((t) => t !== undefined);
  }
  record = out as LlavaRecord;
  if (patch.order) {
    const ordered: Record<string, unknown> = {};
    for (const key of patch.order) if (key in out) ordered[key] = out[key];
    for (const key of Object.keys(out)) if (!(key in ordered)) ordered[key] = out[key];
    record = ordered as LlavaRecord;
  }
  return record;
}

/** Parse the metadata column; `undefined` when absent, an Error when it is not a patch. */
export function readPatch(value: unknown): LlavaPatch | undefined | Error {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return new Error(`${META_FIELD} must be a JSON string`);
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return new Error(`${META_FIELD} is not a JSON object`);
    }
    return parsed as LlavaPatch;
  } catch (error) {
    return new Error(`${META_FIELD} is not valid JSON (${(error as Error).message})`);
  }
}
