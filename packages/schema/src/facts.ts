/**
 * What the cross-record rules need of one record, and how it is made: a module with no imports, the entry
 * `@llavakit/schema/facts` (worker threads that send these facts load it without the zod schemas).
 */

/**
 * What the cross-record rules need of one record (duplicate and mixed-type ids, image path forms), made where the
 * record is checked (`createRecordValidator`, e.g. in a worker thread) and used in input order by
 * {@link createCrossRecordValidator}. Plain data: it can be posted between threads.
 */
export interface RecordFacts {
  /** The record's id, when it is a string or an integer. */
  readonly id?: string | number;
  /** The record's `id` as written when it is a number or a string, valid or not (image path examples name it). */
  readonly rawId?: string | number;
  /** A hash of the record's image (path or list), 0 for none. */
  readonly imageHash: number;
  /** The record's image paths with their JSON pointers (`[path, pointer]`). */
  readonly paths: readonly (readonly [string, string])[];
}

/** The {@link RecordFacts} of a record that is an object (undefined for any other value). */
export function recordFactsOf(value: unknown): RecordFacts | undefined {
  const record = value as Record<string, unknown> | null;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const id = record.id;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  const image = record.image;
  const paths: [string, string][] = [];
  if (typeof image === 'string') paths.push([image, '/image']);
  else if (Array.isArray(image)) {
    for (let k = 0; k < image.length; k++) {
      const path = image[k];
      if (typeof path === 'string') paths.push([path, `/image/${k}`]);
    }
  }
  // (built without spreads: this runs once per record)
  if (validId) return { id: id as string | number, rawId: id as string | number, imageHash: imageHash(image), paths };
  return typeof id === 'string' || typeof id === 'number'
    ? { rawId: id, imageHash: 0, paths }
    : { imageHash: 0, paths };
}

/** A 32-bit hash of a record's image (path or list), 0 for none. */
export function imageHash(image: unknown): number {
  if (typeof image === 'string') return fnv(image, 0x811c9dc5) || 1;
  if (Array.isArray(image)) {
    let h = 0x811c9dc5;
    for (const path of image) h = fnv(typeof path === 'string' ? `${path}\u0000` : '\u0001', h);
    return h || 1;
  }
  return 0;
}

function fnv(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}
