import type { Diagnostic, LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import { fits, IMAGE_SHAPE_KEY, type Layout } from './layout.js';
import { type ParquetOptions, parquetRules } from './options.js';
import { pendingTurns, TurnsCell } from './turns.js';

interface ImageCell {
  bytes: Uint8Array | null;
  path: string | null;
}

/** One row ready for the columns, with its estimated uncompressed size. */
export interface Row {
  readonly source: SourceRecord;
  /** The cells in column order: id, conversations, image(s), the extras, the overrides. */
  readonly cells: unknown[];
  readonly bytes: number;
  /** Whether the row holds embedded image bytes (it counts against `rowGroupImageRows`). */
  readonly withImages: boolean;
}

export type Built = { ok: true; row: Row } | { ok: false; diagnostics: Diagnostic[] };

function imagePathsOf(record: LlavaRecord): string[] {
  if (typeof record.image === 'string') return [record.image];
  if (Array.isArray(record.image)) return record.image;
  return [];
}

/** A record whose image reads have started (output paths rewritten while it was the current record). */
export interface Fetched {
  readonly source: SourceRecord;
  readonly images: readonly {
    readonly path: string;
    readonly out: string;
    /** The bytes: the record's own embedded bytes as they are, or the host's read of them. */
    readonly bytes: Uint8Array | Promise<Uint8Array | undefined>;
  }[];
}

/**
 * Start reading a record's image bytes while it is the host's current record, so reads overlap while earlier rows
 * are built. Bytes the record embeds are taken as they are: they are what the host answers first (see
 * `ImageAccess.readBytes`), so asking it would only add a promise per image.
 */
export function fetchImages(source: SourceRecord, context: WriteContext<ParquetOptions>): Fetched {
  return {
    source,
    images: imagePathsOf(source.record).map((path) => ({
      path,
      out: context.images.rewrite(path),
      bytes:
        source.embedded?.get(path) ??
        context.images.readBytes(path).then(
          (bytes) => bytes ?? source.embedded?.get(path),
          () => source.embedded?.get(path),
        ),
    })),
  };
}

const extraNamesOf = new WeakMap<Layout, ReadonlySet<string>>();

/** The names of a layout's extra columns (computed once per layout). */
function extraNames(layout: Layout): ReadonlySet<string> {
  let names = extraNamesOf.get(layout);
  if (!names) {
    names = new Set(layout.extras.map((e) => e.name));
    extraNamesOf.set(layout, names);
  }
  return names;
}

/** How many records may have image reads in flight ahead of the row being built. */
export const READ_AHEAD = 32;

/**
 * Build a record's row: at once when its image bytes are at hand (embedded), else once they are read (a promise).
 */
export function buildRow(
  fetched: Fetched,
  layout: Layout,
  context: WriteContext<ParquetOptions>,
): Built | Promise<Built> {
  if (fetched.images.every((image) => !(image.bytes instanceof Promise))) {
    return rowOf(
      fetched,
      fetched.images.map((image) => image.bytes as Uint8Array),
      layout,
      context,
    );
  }
  return Promise.all(fetched.images.map((image) => image.bytes)).then((bytes) =>
    rowOf(fetched, bytes, layout, context),
  );
}

function rowOf(
  fetched: Fetched,
  read: readonly (Uint8Array | undefined)[],
  layout: Layout,
  context: WriteContext<ParquetOptions>,
): Built {
  const { source } = fetched;
  const { record } = source;
  const overrides: Record<string, unknown> = {};
  const place = {
    file: source.file,
    recordIndex: source.index,
    source: 'parquet',
    ...(record.id !== undefined ? { recordId: record.id } : {}),
  };
  const paths = imagePathsOf(record);
  if (layout.image === 'image' && paths.length > 1) {
    return {
      ok: false,
      diagnostics: [
        {
          ruleId: parquetRules.imageLayout,
          severity: 'error',
          message: `Record has ${paths.length} images, but this file has one \`image\` column (decided from its first row group).`,
          hint: 'Pass -O image-layout=images to write an `images` list column.',
          pointer: '/image',
          ...place,
        },
      ],
    };
  }
  let imageBytes = 0;
  const cells: ImageCell[] = [];
  for (const [i, { path, out }] of fetched.images.entries()) {
    const bytes = read[i];
    if (!bytes) {
      context.report({
        ruleId: parquetRules.imageNotEmbedded,
        severity: 'warning',
        message: `Image ${path} could not be read; the row names its path with no bytes.`,
        hint: 'Point llava at the images (--images <folder|prefix=folder|zip>), or use --missing-images drop.',
        pointer: Array.isArray(record.image) ? `/image/${i}` : '/image',
        ...place,
      });
      context.count('parquet:images-path-only');
    } else {
      context.count('parquet:images-embedded');
      imageBytes += bytes.length;
    }
    cells.push({ bytes: bytes ?? null, path: out });
  }
  let imageCell: unknown = null;
  if (layout.image === 'image') {
    imageCell = cells[0] ?? null;
    if (Array.isArray(record.image)) overrides[IMAGE_SHAPE_KEY] = 'list';
  } else {
    imageCell = record.image === undefined ? null : cells;
    if (typeof record.image === 'string') overrides[IMAGE_SHAPE_KEY] = 'string';
  }

  let id: string | null = null;
  if (typeof record.id === 'string') id = record.id;
  else if (record.id !== undefined) {
    id = String(record.id);
    overrides.id = record.id;
  }
  // Turns nobody has read since they were checked in their source row (a re-shard): the cell is that row's, sized
  // from its pages, and decoded only if the row is encoded again.
  const lazy = pendingTurns(record);
  let turnsCell: unknown;
  let turnUnits = 0;
  if (lazy) {
    turnsCell = new TurnsCell(lazy);
    turnUnits = lazy.column.units[lazy.row]!;
  } else {
    // Turns go to the column as they are (the struct takes `from` and `value`); other keys go to the overrides.
    let plainTurns = true;
    for (const turn of record.conversations) {
      for (const key in turn) if (key !== 'from' && key !== 'value') plainTurns = false;
    }
    const turns = plainTurns
      ? record.conversations
      : record.conversations.map((turn) => ({ from: turn.from, value: turn.value }));
    if (!plainTurns) overrides.conversations = record.conversations;
    for (const turn of turns) turnUnits += turn.from.length + turn.value.length;
    turnsCell = turns;
  }
  const row: unknown[] = [id, turnsCell, imageCell];
  for (const extra of layout.extras) {
    const value = (record as Record<string, unknown>)[extra.name];
    if (value === undefined) {
      row.push(null);
    } else if (fits(extra.kind, value)) {
      row.push(
        extra.kind === 'json' ? JSON.stringify(value) : extra.kind === 'int64' ? BigInt(value as number) : value,
      );
    } else {
      row.push(null);
      overrides[extra.name] = value;
    }
  }
  const inLayout = extraNames(layout);
  for (const key in record) {
    if (key === 'id' || key === 'conversations' || key === 'image' || inLayout.has(key)) continue;
    const value = (record as Record<string, unknown>)[key];
    if (value !== undefined) overrides[key] = value;
  }
  const extraText = Object.keys(overrides).length > 0 ? JSON.stringify(overrides) : null;
  row.push(extraText);
  const textBytes = (id?.length ?? 0) + (extraText?.length ?? 0) + turnUnits;
  return { ok: true, row: { source, cells: row, bytes: imageBytes + textBytes, withImages: imageBytes > 0 } };
}
