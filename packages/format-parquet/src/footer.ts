import type { ColumnChunk, FileMetaData, RowGroup } from 'hyparquet';

/**
 * A Parquet footer kept compact: the file-level part as parsed, and per row group only what reading its column
 * chunks needs (rows, and per chunk its byte offsets, sizes, value count and codec) in typed arrays — about 40 bytes
 * per column chunk instead of a few kilobytes of parsed objects (statistics, encoding stats, path arrays). A file with
 * 6,653 row groups (`llava_v1_5_mix665k` in 100-row groups) holds 1.6 MB instead of ~30 MB of heap. {@link groupMetadata}
 * rebuilds the footer of one row group, which is also what hyparquet then plans over (not every group of the file).
 */
export interface CompactFooter {
  /** Rows of each row group. */
  readonly groups: readonly number[];
  /** Uncompressed bytes of each row group (as its footer says). */
  readonly groupBytes: readonly number[];
  /** A footer holding only row group `g` (its rows are rows 0… of that footer). */
  groupMetadata(g: number): FileMetaData;
}

/** Column chunk fields kept per chunk (numbers; `-1` for an absent dictionary page). */
const FIELDS = 6;
const [DATA, DICTIONARY, COMPRESSED, UNCOMPRESSED, VALUES, FILE_OFFSET] = [0, 1, 2, 3, 4, 5];

/**
 * Compact a parsed footer (see {@link CompactFooter}). Footers this does not model (a column chunk in another file,
 * encrypted columns, row groups with differing column lists) are kept whole.
 */
export function compactFooter(metadata: FileMetaData): CompactFooter {
  const first = metadata.row_groups[0];
  if (!first || !compactable(metadata)) return wholeFooter(metadata);
  // (no closure below refers to `metadata`: the parsed footer is garbage once this returns)
  const groups = metadata.row_groups.map((g) => Number(g.num_rows));
  const groupBytes = metadata.row_groups.map((g) => Number(g.total_byte_size));
  const alone = aloneIn(metadata);
  const columns = first.columns.length;
  // the fields that do not change from group to group, shared: type, path, encodings of the first group
  const templates = first.columns.map((chunk) => {
    const {
      statistics: _s,
      encoding_stats: _e,
      size_statistics: _z,
      geospatial_statistics: _g,
      index_page_offset: _i,
      bloom_filter_offset: _b,
      bloom_filter_length: _l,
      ...meta
    } = chunk.meta_data!;
    return meta;
  });
  const codecs: string[] = [];
  const codecOf = new Uint8Array(groups.length * columns);
  const values = new Float64Array(groups.length * columns * FIELDS);
  for (const [g, group] of metadata.row_groups.entries()) {
    for (const [c, chunk] of group.columns.entries()) {
      const meta = chunk.meta_data!;
      let codec = codecs.indexOf(meta.codec);
      if (codec < 0) codec = codecs.push(meta.codec) - 1;
      codecOf[g * columns + c] = codec;
      const at = (g * columns + c) * FIELDS;
      values[at + DATA] = Number(meta.data_page_offset);
      values[at + DICTIONARY] = meta.dictionary_page_offset === undefined ? -1 : Number(meta.dictionary_page_offset);
      values[at + COMPRESSED] = Number(meta.total_compressed_size);
      values[at + UNCOMPRESSED] = Number(meta.total_uncompressed_size);
      values[at + VALUES] = Number(meta.num_values);
      values[at + FILE_OFFSET] = chunk.file_offset === undefined ? 0 : Number(chunk.file_offset);
    }
  }
  return {
    groups,
    groupBytes,
    groupMetadata(g) {
      const rows = groups[g];
      if (rows === undefined) throw new RangeError(`no row group ${g}`);
      const chunks: ColumnChunk[] = templates.map((template, c) => {
        const at = (g * columns + c) * FIELDS;
        const dictionary = values[at + DICTIONARY]!;
        return {
          file_offset: BigInt(values[at + FILE_OFFSET]!),
          meta_data: {
            ...template,
            codec: codecs[codecOf[g * columns + c]!]! as typeof template.codec,
            data_page_offset: BigInt(values[at + DATA]!),
            ...(dictionary >= 0
              ? { dictionary_page_offset: BigInt(dictionary) }
              : { dictionary_page_offset: undefined }),
            total_compressed_size: BigInt(values[at + COMPRESSED]!),
            total_uncompressed_size: BigInt(values[at + UNCOMPRESSED]!),
            num_values: BigInt(values[at + VALUES]!),
          },
        };
      });
      return alone({ columns: chunks, num_rows: BigInt(rows), total_byte_size: BigInt(groupBytes[g]!) });
    },
  };
}

/** A footer holding one row group of `metadata`, beside its file-level fields. */
function aloneIn(metadata: FileMetaData): (group: RowGroup) => FileMetaData {
  const { row_groups: _all, ...fileLevel } = metadata;
  return (group) => ({ ...fileLevel, num_rows: group.num_rows, row_groups: [group] });
}

/** The {@link CompactFooter} interface over a footer kept whole. */
export function wholeFooter(metadata: FileMetaData): CompactFooter {
  const alone = aloneIn(metadata);
  return {
    groups: metadata.row_groups.map((g) => Number(g.num_rows)),
    groupBytes: metadata.row_groups.map((g) => Number(g.total_byte_size)),
    groupMetadata: (g) => {
      const group = metadata.row_groups[g];
      if (!group) throw new RangeError(`no row group ${g}`);
      return alone(group);
    },
  };
}

/** True when every row group has the same column paths and types, in one file, with plain (unencrypted) metadata. */
function compactable(metadata: FileMetaData): boolean {
  const first = metadata.row_groups[0]!;
  const key = (chunk: ColumnChunk) => `${chunk.meta_data?.path_in_schema.join('\u0000')}\u0001${chunk.meta_data?.type}`;
  const keys = first.columns.map(key);
  for (const group of metadata.row_groups) {
    if (group.columns.length !== keys.length) return false;
    for (const [c, chunk] of group.columns.entries()) {
      if (!chunk.meta_data || chunk.file_path || chunk.crypto_metadata || chunk.encrypted_column_metadata) return false;
      if (key(chunk) !== keys[c]) return false;
      // beyond 2^53 bytes a Float64 would round: keep such a footer whole
      if (chunk.meta_data.data_page_offset > BigInt(Number.MAX_SAFE_INTEGER)) return false;
    }
  }
  return true;
}
