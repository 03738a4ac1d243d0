import type { LlavaRecord } from '@llavakit/format';

/** The column holding an `Image` per row (`image`), or a list of them (`images`). */
export type ImageLayout = 'image' | 'images';

/** How an extra top-level key is stored: a typed Parquet column, or JSON text in a string column. */
export type ExtraKind = 'string' | 'bool' | 'int64' | 'float64' | 'json';

/** One extra key of the records (`data_source`, `model`, …) and its column type. */
export interface ExtraColumn {
  readonly name: string;
  readonly kind: ExtraKind;
}

/** The columns of a written file, decided from the first row group and kept for every shard. */
export interface Layout {
  readonly image: ImageLayout;
  readonly extras: readonly ExtraColumn[];
}

/**
 * The column of per-row JSON overrides: the values the typed columns cannot say (an integer id, a `null`, a value of
 * another type than its column, a key first seen after the first row group, turns with keys other than
 * `from`/`value`). `null` in almost every row.
 */
export const EXTRA_COLUMN = 'llavakit_extra';

/** Schema metadata key (beside `huggingface`) describing how llavakit wrote the file. */
export const LLAVAKIT_METADATA_KEY = 'llavakit';

/** Reserved override key: the row's `image` was a single path (layout `images`) or a list (layout `image`). */
export const IMAGE_SHAPE_KEY = '$image';

/** Column names an extra key can never take. */
export const RESERVED_COLUMNS: ReadonlySet<string> = new Set(['id', 'conversations', 'image', 'images', EXTRA_COLUMN]);

/** The kind of one JSON value for an extra column, or undefined for `null`/`undefined`. */
export function kindOf(value: unknown): ExtraKind | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'int64' : 'float64';
  return 'json';
}

/** Does `value` fit a column of `kind` exactly (so reading the column gives back the same JSON value)? */
export function fits(kind: ExtraKind, value: unknown): boolean {
  const k = kindOf(value);
  if (k === undefined) return false;
  if (kind === 'json') return true;
  if (kind === 'float64') return k === 'float64' || k === 'int64';
  return k === kind;
}

function merge(a: ExtraKind, b: ExtraKind): ExtraKind {
  if (a === b) return a;
  if ((a === 'int64' && b === 'float64') || (a === 'float64' && b === 'int64')) return 'float64';
  return 'json';
}

/**
 * Decide the layout from the first records (the first row group): `images` when any of them holds several images
 * (or `forced`), and one column per extra key in order of appearance, typed by the values seen — all strings →
 * `string`, booleans → `bool`, integers → `int64`, numbers → `float64`, anything else or a mix → `json` text.
 */
export function decideLayout(records: readonly LlavaRecord[], forced?: ImageLayout): Layout {
  const image = forced ?? (records.some((r) => Array.isArray(r.image)) ? 'images' : 'image');
  const kinds = new Map<string, ExtraKind>();
  for (const record of records) {
    // (keys first: the reserved columns' values are not read, so turns a re-shard has not decoded stay so)
    for (const key of Object.keys(record)) {
      if (RESERVED_COLUMNS.has(key)) continue;
      const kind = kindOf((record as Record<string, unknown>)[key]);
      if (kind === undefined) {
        if (!kinds.has(key)) kinds.set(key, 'string');
        continue;
      }
      const seen = kinds.get(key);
      kinds.set(key, seen === undefined ? kind : merge(seen, kind));
    }
  }
  return { image, extras: [...kinds].map(([name, kind]) => ({ name, kind })) };
}

type Feature = Record<string, unknown> | readonly Record<string, unknown>[];

const value = (dtype: string): Feature => ({ dtype, _type: 'Value' });

/**
 * The `datasets` features of a layout, as stored under the `huggingface` schema metadata key: `Value`s, the `Image`
 * feature, and lists in the JSON-list form (`[feature]`) that every `datasets` release reads.
 */
export function featuresOf(layout: Layout): Record<string, Feature> {
  const features: Record<string, Feature> = {
    id: value('string'),
    conversations: [{ from: value('string'), value: value('string') }],
    ...(layout.image === 'image' ? { image: { _type: 'Image' } } : { images: [{ _type: 'Image' }] }),
  };
  for (const extra of layout.extras) {
    features[extra.name] = value(extra.kind === 'json' ? 'string' : extra.kind);
  }
  features[EXTRA_COLUMN] = value('string');
  return features;
}

/** The dataset card's `dataset_info.features` YAML lines (indented by 2) of a layout. */
export function featuresYaml(layout: Layout): string[] {
  const lines = [
    '  - name: id',
    '    dtype: string',
    '  - name: conversations',
    '    list:',
    '    - name: from',
    '      dtype: string',
    '    - name: value',
    '      dtype: string',
    ...(layout.image === 'image'
      ? ['  - name: image', '    dtype: image']
      : ['  - name: images', '    sequence: image']),
  ];
  for (const extra of layout.extras) {
    lines.push(`  - name: ${yamlString(extra.name)}`, `    dtype: ${extra.kind === 'json' ? 'string' : extra.kind}`);
  }
  lines.push(`  - name: ${EXTRA_COLUMN}`, '    dtype: string');
  return lines;
}

/** A YAML scalar: plain when safe, else JSON-quoted (JSON strings are valid YAML). */
export function yamlString(text: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(text) ? text : JSON.stringify(text);
}
