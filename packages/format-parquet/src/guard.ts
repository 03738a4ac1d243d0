/**
 * The page headers of a row group's column chunks checked before hyparquet decodes them: a damaged byte can leave a
 * header without its sizes or level lengths, or claiming more values than its chunk holds, and hyparquet 1.33 then
 * loops on offsets that are not numbers or fills arrays of billions of levels (its decoder is patched too, see
 * patches/hyparquet@1.33.0.patch; this check names the column and the page).
 */
import type { RowGroup } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { chunkStart, type FileRange } from './source.js';

const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Why the page header at `at` of `chunk` cannot be decoded, or undefined; advances past the page. */
function checkPage(chunk: Uint8Array, reader: { view: DataView; offset: number }, values: { seen: number }) {
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
    values.seen += page.num_values;
  } else if (header.type === 'DICTIONARY_PAGE') {
    if (!count(header.dictionary_page_header?.num_values)) return 'its header has no valid dictionary size';
  }
  return undefined;
}

/**
 * Check every page header of the column chunks of `rowGroup` in `chunks` (as `readGroupBytes` read them): sizes
 * within the chunk, value and level counts that are numbers, and no more values than the chunk's metadata says.
 * Throws an Error naming the column and the byte offset of the page (read.ts makes it `parquet/unreadable`).
 */
export function checkGroupPages(rowGroup: RowGroup, chunks: readonly FileRange[]): void {
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
    // (as hyparquet reads a chunk: a last lone byte is no page)
    while (reader.offset < bytes.length - 1) {
      const at = start + reader.offset;
      let why: string | undefined;
      try {
        why = checkPage(bytes, reader, values);
      } catch (error) {
        why = `its header cannot be read (${(error as Error).message})`;
      }
      if (!why && Number.isSafeInteger(limit) && values.seen > limit)
        why = `the pages hold more values than the column chunk (${limit})`;
      if (why) throw new Error(`column ${path}, page at byte ${at}: ${why}`);
    }
  }
}
