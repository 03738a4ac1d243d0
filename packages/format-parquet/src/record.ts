import type { Diagnostic, LlavaRecord, Turn } from '@llavakit/format';
import { extensionOfFormat, sniffImage } from '@llavakit/images';
import { IMAGE_SHAPE_KEY } from './layout.js';
import { defineLazyTurns, rawTurnsOf } from './turns.js';

/** A value as JSON can hold it: bigints become numbers (or strings past 2^53), bytes base64, dates ISO text. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** A short JSON text of a row for the rejects file or a viewer (image bytes replaced by their size). */
export function rowText(row: Record<string, unknown>): string {
  const strip = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return `<${v.length} bytes>`;
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    }
    return jsonSafe(v);
  };
  const text = JSON.stringify(strip(row));
  return text.length > 100_000 ? `${text.slice(0, 100_000)}…` : text;
}

interface ImageCell {
  readonly bytes?: Uint8Array;
  readonly path?: string;
}

function imageCellOf(value: unknown): ImageCell | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return { bytes: value };
  if (typeof value === 'string') return value ? { path: value } : undefined;
  if (typeof value === 'object') {
    const { bytes, path } = value as { bytes?: unknown; path?: unknown };
    const cell: { bytes?: Uint8Array; path?: string } = {};
    if (bytes instanceof Uint8Array) cell.bytes = bytes;
    else if (typeof bytes === 'string' && bytes) cell.bytes = new TextEncoder().encode(bytes);
    if (typeof path === 'string' && path) cell.path = path;
    return cell.bytes || cell.path ? cell : undefined;
  }
  return undefined;
}

/** One row converted: a LLaVA record with its embedded images, or what is wrong with the row. */
export type Converted =
  | { readonly ok: true; readonly record: LlavaRecord; readonly embedded?: Map<string, Uint8Array> }
  | { readonly ok: false; readonly diagnostic: Omit<Diagnostic, 'ruleId' | 'severity' | 'source'> };

/** What the footer of a file says about its columns (see `fileInfo`). */
export interface FileInfo {
  readonly jsonColumns: ReadonlySet<string>;
  readonly overrides?: string;
}

/**
 * Convert one Parquet row (as hyparquet gives it, bytes kept binary) to a canonical LLaVA record, with the bytes of
 * its embedded images keyed by the paths the record names.
 */
export function rowToRecord(row: Record<string, unknown>, index: number, info: FileInfo): Converted {
  const overrides: Record<string, unknown> = {};
  const overrideText = info.overrides ? row[info.overrides] : undefined;
  if (typeof overrideText === 'string' && overrideText) {
    try {
      Object.assign(overrides, JSON.parse(overrideText));
    } catch {
      return { ok: false, diagnostic: { message: `Column ${info.overrides} is not valid JSON.`, pointer: '' } };
    }
  }
  // A row whose turns were checked but not decoded (a re-shard's copyable row group): the record reads them when asked.
  const lazy = 'conversations' in overrides ? undefined : rawTurnsOf(row);
  const turns: Turn[] = [];
  if (!lazy) {
    let conversations: unknown = row.conversations;
    if (typeof conversations === 'string') {
      try {
        conversations = JSON.parse(conversations);
      } catch {
        return { ok: false, diagnostic: { message: 'Column conversations holds text that is not JSON.' } };
      }
    }
    if ('conversations' in overrides) conversations = overrides.conversations;
    if (!Array.isArray(conversations)) {
      return {
        ok: false,
        diagnostic: {
          message: conversations == null ? 'Row has no conversations.' : 'Column conversations is not a list.',
          hint: 'LLaVA rows need `conversations`: a list of {from, value}.',
        },
      };
    }
    for (const [i, raw] of conversations.entries()) {
      const turn = raw as Record<string, unknown> | null;
      if (!turn || typeof turn !== 'object' || typeof turn.from !== 'string' || typeof turn.value !== 'string') {
        return {
          ok: false,
          diagnostic: { message: `Turn ${i} has no string from/value.`, pointer: `/conversations/${i}` },
        };
      }
      let plain = true;
      for (const key in turn) if (key !== 'from' && key !== 'value') plain = false;
      if (plain) {
        // The Hub's shape (a fresh object: the decoded row stays as it was read)
        turns.push({ from: turn.from, value: turn.value });
        continue;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(turn)) if (v !== null && v !== undefined) out[k] = jsonSafe(v);
      turns.push(out as Turn);
    }
  }

  const record: Record<string, unknown> = {};
  let id = jsonSafe(row.id);
  if ('id' in overrides) id = overrides.id;
  if (typeof id === 'string' || typeof id === 'number') record.id = id;

  const cells: (ImageCell | undefined)[] = Array.isArray(row.images)
    ? (row.images as unknown[]).map(imageCellOf)
    : 'image' in row
      ? [imageCellOf(row.image)]
      : [];
  const embedded = new Map<string, Uint8Array>();
  const paths: string[] = [];
  const stem = String(record.id ?? index);
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i];
    if (!cell) continue;
    if (!cell.bytes) {
      paths.push(cell.path!);
      continue;
    }
    let path =
      cell.path ??
      `${stem}${cells.length > 1 ? `-${i}` : ''}.${extensionOfFormat(sniffImage(cell.bytes.subarray(0, 65536)).format) ?? 'bin'}`;
    for (let n = 1; embedded.has(path) || paths.includes(path); n++) path = `${cell.path ?? stem}#${n}`;
    embedded.set(path, cell.bytes);
    paths.push(path);
  }
  const shape = overrides[IMAGE_SHAPE_KEY];
  if (Array.isArray(row.images) || shape === 'list') {
    // A list cell stays a list (even empty); llavakit marks the rows whose `image` was one path.
    record.image = shape === 'string' && paths.length === 1 ? paths[0] : paths;
  } else if (paths.length > 0) record.image = paths[0];

  if (lazy) defineLazyTurns(record, lazy);
  else record.conversations = turns;
  for (const key of Object.keys(row)) {
    if (key === 'id' || key === 'conversations' || key === 'image' || key === 'images' || key === info.overrides)
      continue;
    const value = row[key];
    if (value === null || value === undefined) continue;
    if (info.jsonColumns.has(key) && typeof value === 'string') {
      try {
        record[key] = JSON.parse(value);
        continue;
      } catch {
        // not JSON after all: keep the text
      }
    }
    record[key] = jsonSafe(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (key === IMAGE_SHAPE_KEY || key === 'id' || key === 'conversations') continue;
    record[key] = value;
  }
  return embedded.size > 0
    ? { ok: true, record: record as LlavaRecord, embedded }
    : { ok: true, record: record as LlavaRecord };
}
