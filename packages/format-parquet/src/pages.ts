import { open } from 'node:fs/promises';
import type { FileMetaData } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';

/** A page as an offset index lists it (hyparquet's `PageLocation`). */
export interface PageLocation {
  readonly offset: bigint;
  readonly compressed_page_size: number;
  readonly first_row_index: bigint;
}

/** Column chunks at least this large (compressed) are read page by page when a row group is read in slices. */
export const PAGED_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The pages of the large column chunks of a row group, as an offset index would list them (`offset` of the page
 * header, its size with the header, its first row), found by reading the page headers (a few kilobytes each) — for
 * files written without an offset index (DuckDB's, for one). Only chunks whose first row of each page is known from
 * its header are listed: `DATA_PAGE_V2` pages (they count rows) and `DATA_PAGE` pages of a column that is not
 * repeated (one value per row). Keyed by the column's dotted path, as hyparquet's `pageLocationsByGroup` expects;
 * `rows` are the row starts of the pages of the largest chunk (where reading in slices pays).
 */
export interface GroupPages {
  readonly locations: Record<string, PageLocation[]>;
  readonly rows: number[];
}

/** Find the {@link GroupPages} of the one row group of `metadata` (a footer of one group) in `file`. */
export async function groupPages(
  file: string,
  metadata: FileMetaData,
  minBytes = PAGED_CHUNK_BYTES,
): Promise<GroupPages> {
  const group = metadata.row_groups[0]!;
  const groupRows = Number(group.num_rows);
  const repeated = repeatedPaths(metadata);
  const locations: Record<string, PageLocation[]> = {};
  let rows: number[] = [0];
  let largest = 0;
  const handle = await open(file, 'r');
  try {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (!meta || Number(meta.total_compressed_size) < minBytes) continue;
      const path = meta.path_in_schema.join('.');
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      const pages: PageLocation[] = [];
      let at = start;
      let row = 0;
      let known = true;
      while (at < end && known) {
        const { header, length } = await readHeader(handle, at, end);
        const first = row;
        if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) row += header.data_page_header_v2.num_rows;
        else if (header.type === 'DATA_PAGE' && header.data_page_header && !repeated.has(path))
          row += header.data_page_header.num_values;
        else if (header.type !== 'DICTIONARY_PAGE') known = false;
        if (header.type !== 'DICTIONARY_PAGE') {
          pages.push({
            offset: BigInt(at),
            compressed_page_size: length + header.compressed_page_size,
            first_row_index: BigInt(first),
          });
        }
        at += length + header.compressed_page_size;
      }
      if (!known || row !== groupRows || pages.length === 0) continue;
      locations[path] = pages;
      if (Number(meta.total_compressed_size) > largest) {
        largest = Number(meta.total_compressed_size);
        rows = pages.map((p) => Number(p.first_row_index));
      }
    }
  } finally {
    await handle.close();
  }
  return { locations, rows };
}

type Header = ReturnType<typeof parquetHeader>;

/** Read and parse the page header at `at` (64 KiB first, more when its statistics are long). */
async function readHeader(
  handle: Awaited<ReturnType<typeof open>>,
  at: number,
  end: number,
): Promise<{ header: Header; length: number }> {
  for (let size = 64 * 1024; ; size *= 16) {
    const want = Math.min(size, end - at);
    const buffer = Buffer.alloc(want);
    const { bytesRead } = await handle.read(buffer, 0, want, at);
    const reader = { view: new DataView(buffer.buffer, buffer.byteOffset, bytesRead), offset: 0 };
    try {
      const header = parquetHeader(reader);
      if (typeof header.compressed_page_size !== 'number') throw new Error('not a page header');
      return { header, length: reader.offset };
    } catch (error) {
      if (want >= end - at || size >= 16 * 1024 * 1024) throw error;
    }
  }
}

/** Dotted paths of the leaf columns under a repeated field (their values are not one per row). */
function repeatedPaths(metadata: FileMetaData): Set<string> {
  const out = new Set<string>();
  const visit = (node: ReturnType<typeof parquetSchema>, path: string[], repeated: boolean) => {
    const here = repeated || node.element.repetition_type === 'REPEATED';
    if (node.children.length === 0) {
      if (here) out.add(path.join('.'));
      return;
    }
    for (const child of node.children) visit(child, [...path, child.element.name], here);
  };
  for (const child of parquetSchema(metadata).children) visit(child, [child.element.name], false);
  return out;
}
