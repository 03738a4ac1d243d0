import { type Diagnostic, DiagnosticError } from '@llavakit/diagnostics';
import { checkImages, type ImageRef, type ImageResolver, sniffImage } from '@llavakit/images';
import { conversationTemplates, renderConversation } from '@llavakit/prompts';
import { checkRecord } from '@llavakit/schema';
import type { DatasetIndex } from './dataset.js';
import { imagePaths, type RecordMetrics } from './metrics.js';
import { duplicateDiagnostics, shownOfText, shownRecord, validationPlaceOf } from './shown.js';

/** One row of the table. */
export interface RecordRow {
  /** Global record number (over every input, in order). */
  readonly n: number;
  readonly file: string;
  /** Index of the record in its file. */
  readonly index: number;
  readonly id: string | number | null;
  readonly source: string;
  readonly turns: number;
  readonly images: number;
  readonly tokens: number;
  /** 0 none, 1 info, 2 warning, 3 error. */
  readonly worst: number;
  readonly rules: readonly string[];
  /** The first human turn, cut, for a glance in the table. */
  readonly preview: string;
}

/** What the page knows about one image slot of a record. */
export interface ImageView {
  readonly slot: number;
  readonly ref: string;
  /** `found` (and a real image), `missing`, `refused`, `broken` (found but not a decodable image), `unchecked`. */
  readonly status: 'found' | 'missing' | 'refused' | 'broken' | 'unchecked';
  readonly format?: string;
  readonly width?: number;
  readonly height?: number;
  readonly bytes?: number;
  /** Where it was found: a file of a folder, a zip entry, or bytes embedded in the record (Parquet). */
  readonly location?: 'file' | 'zip' | 'embedded';
  readonly diagnostics: readonly Diagnostic[];
}

/** The record view: raw text, value, diagnostics, images and a rendering with a template. */
export interface RecordView {
  readonly row: RecordRow;
  readonly offset: number;
  readonly length: number;
  /** Where a Parquet record is (`row group G, row R`); JSON records have `offset` and `length`. */
  readonly where?: string;
  /** The record's JSON text as it is in the file (Parquet: its canonical record as JSON). */
  readonly text: string;
  /** The parsed value, or `null` when the record's JSON is broken (`parseError` then says where). */
  readonly value: unknown;
  readonly parseError?: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly images: readonly ImageView[];
  readonly template: string;
  readonly rendered?: string;
  readonly renderError?: Diagnostic;
}

/** Formats a browser shows in an `<img>` (others are served as diagnostics, not bytes). */
export const BROWSER_FORMATS: Readonly<Record<string, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
};

/** Largest image the viewer serves, in bytes. */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

function idOf(value: unknown): string | number | null {
  if (value === null || typeof value !== 'object') return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function previewOf(value: unknown): string {
  const turns = (value as { conversations?: unknown } | null)?.conversations;
  if (!Array.isArray(turns)) return '';
  const first = turns.find((t) => typeof (t as { value?: unknown } | null)?.value === 'string') as
    | { value: string }
    | undefined;
  if (!first) return '';
  const flat = first.value.replace(/\s+/g, ' ').trim();
  return flat.length > 140 ? `${flat.slice(0, 139)}…` : flat;
}

/** Rows of the table for some record numbers (each record read with one positional read). */
export async function readRows(
  index: DatasetIndex,
  metrics: RecordMetrics,
  numbers: ArrayLike<number>,
): Promise<RecordRow[]> {
  const texts = await index.readTexts(numbers);
  await index.countShown(numbers, texts, metrics);
  const rows: RecordRow[] = [];
  for (let k = 0; k < numbers.length; k++) {
    const { parsed } = shownOfText(index, numbers[k]!, texts[k]!);
    rows.push(rowOf(index, metrics, numbers[k]!, parsed.ok ? parsed.value : undefined));
  }
  return rows;
}

function rowOf(index: DatasetIndex, metrics: RecordMetrics, n: number, value: unknown): RecordRow {
  const place = index.placeOf(n);
  return {
    n,
    file: place.file.name,
    index: place.index,
    id: idOf(value),
    source: index.sources[index.sourceCode[n]!]!,
    turns: index.turns[n]!,
    images: index.images[n]!,
    tokens: value === undefined ? 0 : index.tokensOf(n, value, metrics),
    worst: index.worst[n]!,
    rules: index.rulesOf(n),
    preview: previewOf(value),
  };
}

/**
 * Everything the record view shows about one record: the per-record rules recomputed on the record (the same as at
 * indexing), the kept cross-record diagnostics (duplicate ids, broken JSON), the image audit of its images, and the
 * record rendered with a LLaVA conversation template.
 */
export async function readRecordView(
  index: DatasetIndex,
  metrics: RecordMetrics,
  resolver: ImageResolver | undefined,
  n: number,
  template: string,
): Promise<RecordView> {
  const shown = await shownRecord(index, n);
  const parquet = index.isParquet(n);
  const { text, parsed } = shown;
  const place = index.placeOf(n);
  const value = parsed.ok ? parsed.value : undefined;
  if (parsed.ok) await index.countShown([n], [text], metrics);
  const row = rowOf(index, metrics, n, value);
  const kept = [...(index.kept.get(n) ?? []), ...(await duplicateDiagnostics(index, n, shown))];
  // a converted record's text is its canonical JSON, not the file's: no byte offsets into it
  const validationPlace = validationPlaceOf(index, n, shown);
  const diagnostics: Diagnostic[] = parsed.ok
    ? [
        ...checkRecord(value, {
          file: place.file.name,
          kind: place.file.kind,
          place: validationPlace,
          ...(shown.converted ? {} : { text }),
        }),
        ...kept,
      ]
    : [...kept];
  const images = parsed.ok ? await imageViews(resolver, value, place.file.name, place.index, shown.embedded) : [];
  for (const image of images) diagnostics.push(...image.diagnostics);
  const chosen = conversationTemplates.includes(template) ? template : 'v1';
  let rendered: string | undefined;
  let renderError: Diagnostic | undefined;
  if (parsed.ok) {
    const record = value as { conversations?: unknown };
    const turns = record?.conversations;
    if (
      Array.isArray(turns) &&
      turns.every((t) => typeof t?.from === 'string' && typeof (t as { value?: unknown }).value === 'string')
    ) {
      try {
        rendered = renderConversation(record as Parameters<typeof renderConversation>[0], { template: chosen });
      } catch (error) {
        if (!DiagnosticError.is(error)) throw error;
        renderError = error.diagnostic;
      }
    } else {
      renderError = {
        ruleId: 'render/failed',
        severity: 'error',
        message: 'The record has no list of {from, value} turns to render.',
        source: 'render',
      };
    }
  }
  return {
    row,
    offset: parquet ? 0 : place.offset,
    length: parquet ? Buffer.byteLength(text) : place.length,
    ...(parquet ? { where: `row group ${place.offset}, row ${place.length}` } : {}),
    text,
    value: parsed.ok ? parsed.value : null,
    ...(parsed.ok ? {} : { parseError: parsed.error }),
    diagnostics,
    images,
    template: chosen,
    ...(rendered !== undefined ? { rendered } : {}),
    ...(renderError ? { renderError } : {}),
  };
}

async function imageViews(
  resolver: ImageResolver | undefined,
  value: unknown,
  file: string,
  recordIndex: number,
  embedded?: ReadonlyMap<string, Uint8Array>,
): Promise<ImageView[]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const record = value as Record<string, unknown>;
  const paths = imagePaths(record);
  const listed = Array.isArray(record.image);
  if (embedded && embedded.size > 0) {
    // embedded images are shown from the record's bytes; the others (paths only) through the resolver
    const views: ImageView[] = [];
    const rest = await imageViews(resolver, record, file, recordIndex);
    for (let slot = 0; slot < paths.length; slot++) {
      const bytes = embedded.get(paths[slot]!);
      if (!bytes) {
        views.push(rest[slot]!);
        continue;
      }
      const info = sniffImage(bytes);
      const shown = info.format in BROWSER_FORMATS && !info.truncated;
      views.push({
        slot,
        ref: paths[slot]!,
        status: shown ? 'found' : 'broken',
        format: info.format,
        ...(info.width !== undefined ? { width: info.width } : {}),
        ...(info.height !== undefined ? { height: info.height } : {}),
        bytes: bytes.length,
        location: 'embedded',
        diagnostics: [],
      });
    }
    return views;
  }
  if (!resolver) return paths.map((ref, slot) => ({ slot, ref, status: 'unchecked', diagnostics: [] }));
  const id = idOf(record);
  const refs: ImageRef[] = paths.map((ref, slot) => ({
    ref,
    pointer: listed ? `/image/${slot}` : '/image',
    recordIndex,
    file,
    ...(id !== null ? { recordId: id } : {}),
  }));
  const audit = await checkImages(refs, resolver, { workers: 0, checkSources: false });
  const views: ImageView[] = [];
  for (let slot = 0; slot < paths.length; slot++) {
    const ref = paths[slot]!;
    const pointer = refs[slot]!.pointer;
    const diagnostics = audit.diagnostics.filter((d) => d.pointer === pointer);
    const resolution = await resolver.stat(ref);
    if (resolution.status !== 'found') {
      views.push({ slot, ref, status: resolution.status, diagnostics });
      continue;
    }
    let info: ReturnType<typeof sniffImage> | undefined;
    try {
      const head = await resolver.readHeadTail(resolution, 64 * 1024, 4096);
      info = sniffImage(head.head, { tail: head.tail, size: head.size });
    } catch {
      info = undefined;
    }
    const shown = info !== undefined && info.format in BROWSER_FORMATS && !info.truncated;
    views.push({
      slot,
      ref,
      status: shown ? 'found' : 'broken',
      ...(info ? { format: info.format } : {}),
      ...(info?.width !== undefined ? { width: info.width } : {}),
      ...(info?.height !== undefined ? { height: info.height } : {}),
      ...(resolution.size !== undefined ? { bytes: resolution.size } : {}),
      location: resolution.location.kind,
      diagnostics,
    });
  }
  return views;
}

/**
 * The bytes of one image slot of a record, for the page: only through the resolver (the record names the path, the
 * request only the record and slot), only real images of a format browsers show, sent with the sniffed type.
 */
export async function readImage(
  index: DatasetIndex,
  resolver: ImageResolver | undefined,
  n: number,
  slot: number,
): Promise<{ ok: true; type: string; bytes: Uint8Array } | { ok: false; status: number; message: string }> {
  const shown = await shownRecord(index, n);
  const parsed = shown.parsed;
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object') {
    return { ok: false, status: 404, message: 'The record has no images.' };
  }
  const ref = imagePaths(parsed.value as Record<string, unknown>)[slot];
  if (ref === undefined) return { ok: false, status: 404, message: `The record has no image slot ${slot}.` };
  const embedded = shown.embedded?.get(ref);
  if (embedded) {
    if (embedded.length > MAX_IMAGE_BYTES) return { ok: false, status: 413, message: `${ref} is too large.` };
    const type = BROWSER_FORMATS[sniffImage(embedded).format];
    if (!type) return { ok: false, status: 415, message: `${ref} is not an image a browser shows.` };
    return { ok: true, type, bytes: embedded };
  }
  if (!resolver) return { ok: false, status: 404, message: 'No image sources were given (--images).' };
  const resolution = await resolver.stat(ref);
  if (resolution.status === 'refused') return { ok: false, status: 403, message: resolution.diagnostic.message };
  if (resolution.status === 'missing') return { ok: false, status: 404, message: `${ref} is in none of the sources.` };
  if ((resolution.size ?? 0) > MAX_IMAGE_BYTES) return { ok: false, status: 413, message: `${ref} is too large.` };
  let bytes: Uint8Array;
  try {
    bytes = await resolver.readBytes(ref);
  } catch (error) {
    return { ok: false, status: 404, message: (error as Error).message };
  }
  const info = sniffImage(bytes);
  const type = BROWSER_FORMATS[info.format];
  if (!type) return { ok: false, status: 415, message: `${ref} is not an image a browser shows (${info.format}).` };
  return { ok: true, type, bytes };
}
