/** Image references: which image paths a record names, with the record's place, as the image check takes them. */
import type { Place } from '@llavakit/diagnostics';

/** One image reference of one record, as fed to `checkImages`. */
export interface ImageRef {
  /** The path as written in the record. */
  readonly ref: string;
  /** 0-based index of the record in its file. */
  readonly recordIndex?: number;
  /** The record's `id`. */
  readonly recordId?: string | number;
  /** The data file, as the user named it. */
  readonly file?: string;
  /** Where the record starts in the file. */
  readonly place?: Place;
  /** JSON pointer of the path inside the record: `/image` or `/image/N`. Default `/image`. */
  readonly pointer?: string;
}

/** A record as produced by `readRecords` from `@llavakit/reader` (only the fields used here). */
export interface RecordResultLike {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly place?: {
    readonly index?: number;
    readonly offset?: number;
    readonly line?: number;
    readonly column?: number;
  };
}

/**
 * Turn read records into image refs: a string `image` gives one ref at `/image`, an array gives one per string item
 * at `/image/N`. Records that failed to parse or have no image are skipped (other commands report those).
 *
 * @example
 * ```ts
 * for await (const ref of imageRefsFromRecords(readRecords('data.json', { file: 'data.json' }), 'data.json')) …
 * ```
 */
export async function* imageRefsFromRecords(
  records: AsyncIterable<RecordResultLike> | Iterable<RecordResultLike>,
  file?: string,
): AsyncGenerator<ImageRef> {
  let index = 0;
  for await (const result of records) {
    const recordIndex = result.place?.index ?? index;
    index = recordIndex + 1;
    for (const ref of imageRefsOfRecord(result, file, recordIndex)) yield ref;
  }
}

/**
 * The image refs of one read record (see {@link imageRefsFromRecords}); `[]` when it failed to parse or has no
 * image. `recordIndex` defaults to the record's place index, else 0.
 *
 * @example
 * ```ts
 * imageRefsOfRecord({ ok: true, value: { image: ['a.jpg', 'b.jpg'] }, place: { index: 4 } }, 'data.json');
 * // [{ ref: 'a.jpg', pointer: '/image/0', recordIndex: 4, file: 'data.json' }, { ref: 'b.jpg', pointer: '/image/1', … }]
 * ```
 */
export function imageRefsOfRecord(
  result: RecordResultLike,
  file?: string,
  recordIndex: number = result.place?.index ?? 0,
): ImageRef[] {
  if (!result.ok || typeof result.value !== 'object' || result.value === null) return [];
  const image = (result.value as { image?: unknown }).image;
  if (typeof image !== 'string' && !Array.isArray(image)) return [];
  const id = (result.value as { id?: unknown }).id;
  const recordId = typeof id === 'string' || typeof id === 'number' ? id : undefined;
  const at = result.place;
  let place: { offset?: number; line?: number; column?: number } | undefined;
  if (at) {
    place = {};
    if (at.offset !== undefined) place.offset = at.offset;
    if (at.line !== undefined) place.line = at.line;
    if (at.column !== undefined) place.column = at.column;
  }
  const make = (ref: string, pointer: string): ImageRef => {
    const item: { -readonly [K in keyof ImageRef]: ImageRef[K] } = { ref, pointer, recordIndex };
    if (recordId !== undefined) item.recordId = recordId;
    if (file !== undefined) item.file = file;
    if (place) item.place = place;
    return item;
  };
  if (typeof image === 'string') return [make(image, '/image')];
  const refs: ImageRef[] = [];
  for (let i = 0; i < image.length; i++) {
    const item: unknown = image[i];
    if (typeof item === 'string') refs.push(make(item, `/image/${i}`));
  }
  return refs;
}
