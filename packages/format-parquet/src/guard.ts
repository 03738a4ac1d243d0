/**
 * The page headers of a row group's column chunks checked before hyparquet decodes them: a damaged byte can leave a
 * header without its sizes or level lengths, or claiming more values than its chunk holds, and hyparquet 1.33 then
 * loops on offsets that are not numbers or fills arrays of billions of levels (its decoder is patched too, see
 * patches/hyparquet@1.33.0.patch; this check names the column and the page).
 */
import type { RowGroup, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getSchemaPath } from 'hyparquet/src/schema.js';
import { chunkStart, type FileRange } from './source.js';

const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The bit width of levels up to `max`. */
const bitWidth = (max: number) => 32 - Math.clz32(max);

/**
 * Why the RLE/bit-packed runs of `n` levels of `width` bits in `bytes` cannot be decoded, or undefined: a run of no
 * levels, one that ends past the bytes, or one longer than the levels left (a bit-packed run may pad its last 8).
 */
function checkRuns(bytes: Uint8Array, width: number, n: number): string | undefined {
  let at = 0;
  let seen = 0;
  while (seen < n) {
    let header = 0;
    let shift = 0;
    let byte: number;
    do {
      if (at >= bytes.length || shift > 28) return 'its levels end early';
      byte = bytes[at++]!;
      header += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    const packed = header % 2 === 1;
    const run = packed ? Math.floor(header / 2) * 8 : Math.floor(header / 2);
    if (run === 0) return 'its levels hold a run of none';
    if (run > n - seen + (packed ? 7 : 0)) return `its levels hold a run of ${run}, past the page's ${n}`;
    at += packed ? (run / 8) * width : (width + 7) >> 3;
    if (at > bytes.length) return 'its levels end early';
    seen += run;
  }
  return undefined;
}

/** Why the page header at `at` of `chunk` cannot be decoded, or undefined; advances past the page. */
function checkPage(
  chunk: Uint8Array,
  reader: { view: DataView; offset: number },
  values: { seen: number },
  levels: { maxRep: number; maxDef: number } | undefined,
) {
  const header = parquetHeader(reader);
  const { compressed_page_size: size, uncompressed_page_size: uncompressed } = header;
  if (!count(size) || !count(uncompressed)) return 'its header has no valid page size';
  if (reader.offset + size > chunk.length) return `it ends past its column chunk (${size} bytes)`;
  reader.offset += size;
  if (header.type === 'DATA_PAGE') {
    const page = header.data_page_header;
    if (!page || !count(page.num_values)) return 'its header has no valid value count';
    values.seen += page.num_values;
  } else if (header.type === 'DATA_PAGE_V2') {
    const page = header.data_page_header_v2;
    if (!page || !count(page.num_values) || !count(page.num_nulls) || !count(page.num_rows))
      return 'its header has no valid value, null or row count';
    if (page.num_nulls > page.num_values) return 'its header counts more nulls than values';
    const rep = page.repetition_levels_byte_length;
    const def = page.definition_levels_byte_length;
    if (!count(rep) || !count(def)) return 'its header has no valid level lengths';
    if (rep + def > size) return 'its levels are longer than the page';
    // (V2 levels are never compressed: their runs are checked where they lie)
    const body = chunk.subarray(reader.offset - size, reader.offset - size + rep + def);
    const n = page.num_values;
    const why =
      levels &&
      ((levels.maxRep > 0 && checkRuns(body.subarray(0, rep), bitWidth(levels.maxRep), n)) ||
        (levels.maxDef > 0 && checkRuns(body.subarray(rep), bitWidth(levels.maxDef), n)));
    if (why) return why;
    values.seen += page.num_values;
  } else if (header.type === 'DICTIONARY_PAGE') {
    if (!count(header.dictionary_page_header?.num_values)) return 'its header has no valid dictionary size';
  }
  return undefined;
}

/**
 * Check every page header of the column chunks of `rowGroup` in `chunks` (as `readGroupBytes` read them): sizes
 * within the chunk, value and level counts that are numbers, no more values than the chunk's metadata says, and
 * (given the file's `schema`) `DATA_PAGE_V2` level runs that advance and stay within the page's values.
 * Throws an Error naming the column and the byte offset of the page (read.ts makes it `parquet/unreadable`).
 */
export function checkGroupPages(
  rowGroup: RowGroup,
  chunks: readonly FileRange[],
  schema?: readonly SchemaElement[],
): void {
  for (const column of rowGroup.columns) {
    const meta = column.meta_data;
    if (!meta) continue;
    const start = chunkStart(meta);
    const bytes = chunks.find((c) => c.start === start)?.bytes;
    if (!bytes) continue;
    const path = meta.path_in_schema.join('.');
    const limit = Number(meta.num_values);
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
    const values = { seen: 0 };
    let levels: { maxRep: number; maxDef: number } | undefined;
    if (schema) {
      const schemaPath = getSchemaPath(schema as SchemaElement[], meta.path_in_schema);
      levels = { maxRep: getMaxRepetitionLevel(schemaPath), maxDef: getMaxDefinitionLevel(schemaPath) };
    }
    // (as hyparquet reads a chunk: a last lone byte is no page)
    while (reader.offset < bytes.length - 1) {
      const at = start + reader.offset;
      let why: string | undefined;
      try {
        why = checkPage(bytes, reader, values, levels);
      } catch (error) {
        why = `its header cannot be read (${(error as Error).message})`;
      }
      if (!why && Number.isSafeInteger(limit) && values.seen > limit)
        why = `the pages hold more values than the column chunk (${limit})`;
      if (why) throw new Error(`column ${path}, page at byte ${at}: ${why}`);
    }
  }
}
