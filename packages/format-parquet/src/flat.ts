/**
 * The columns other than `conversations` of a row group a re-shard may copy, read without hyparquet: top-level
 * byte-array columns (`id`, string and JSON extras, `llavakit_extra`) and structs of byte arrays (the `image`
 * struct `{bytes, path}`), walked page by page (see leaf.ts) and assembled into rows exactly as hyparquet's
 * `parquetReadObjects` (with `utf8: false`) gives them: UTF-8 columns as strings (decoded by `TextDecoder`), other
 * byte arrays as views of their pages, `null` for a null cell, a null struct as `null` and a present one as an
 * object with one key per child. A column of another shape (lists, numbers, booleans, other annotations) or pages
 * this reader does not know make it decline (undefined): the row group is then read by hyparquet as before.
 */
import type { FileMetaData, RowGroup, SchemaElement } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { readByteLeaf, valueAt } from './leaf.js';
import { chunkStart, type GroupBytes } from './source.js';

const decoder = new TextDecoder();

type SchemaNode = ReturnType<typeof parquetSchema>;

/** A byte-array leaf this reader decodes: strings for UTF-8, views otherwise. */
function leafKind(element: SchemaElement): 'string' | 'bytes' | undefined {
  if (element.type !== 'BYTE_ARRAY' || element.repetition_type !== 'OPTIONAL' || element.num_children) return undefined;
  const logical = element.logical_type?.type;
  if (element.converted_type === 'UTF8' && (logical === undefined || logical === 'STRING')) return 'string';
  if (element.converted_type === undefined && logical === undefined) return 'bytes';
  return undefined;
}

/** How one top-level column is read: a leaf, or an optional struct of leaves. */
interface ColumnPlan {
  readonly name: string;
  readonly leaves: readonly { readonly name: string; readonly path: string; readonly kind: 'string' | 'bytes' }[];
  readonly struct: boolean;
}

/** The plan of the named top-level columns, or undefined when one of them is of a shape this reader does not read. */
export function flatPlan(metadata: FileMetaData, names: readonly string[]): ColumnPlan[] | undefined {
  const tree = parquetSchema(metadata);
  const plans: ColumnPlan[] = [];
  for (const name of names) {
    const node = tree.children.find((c: SchemaNode) => c.element.name === name);
    if (!node) return undefined;
    if (node.children.length === 0) {
      const kind = leafKind(node.element);
      if (!kind) return undefined;
      plans.push({ name, leaves: [{ name, path: name, kind }], struct: false });
      continue;
    }
    const element = node.element;
    if (element.repetition_type !== 'OPTIONAL' || element.converted_type || element.logical_type) return undefined;
    const leaves: { name: string; path: string; kind: 'string' | 'bytes' }[] = [];
    for (const child of node.children as SchemaNode[]) {
      const kind = child.children.length === 0 ? leafKind(child.element) : undefined;
      if (!kind) return undefined;
      leaves.push({ name: child.element.name, path: `${name}.${child.element.name}`, kind });
    }
    if (leaves.length === 0) return undefined;
    plans.push({ name, leaves, struct: true });
  }
  return plans;
}

/** One leaf's cells, row by row: decoded values, `null` for a null value, and (in a struct) whether the struct is there. */
function leafCells(
  chunk: Uint8Array,
  codec: string,
  kind: 'string' | 'bytes',
  maxDef: number,
  rows: number,
): { cells: unknown[]; def: Uint8Array } | undefined {
  const leaf = readByteLeaf(chunk, codec, { maxRep: 0, maxDef, capacity: rows });
  if (!leaf || leaf.def.length !== rows) return undefined;
  const cells = new Array<unknown>(rows);
  const { def, values } = leaf;
  let k = 0;
  for (let r = 0; r < rows; r++) {
    if (def[r] === maxDef) {
      const bytes = valueAt(values, k++);
      cells[r] = kind === 'string' ? decoder.decode(bytes) : bytes;
    } else cells[r] = null;
  }
  if (k !== values.count) return undefined;
  return { cells, def };
}

/**
 * The rows of a row group's `plans` columns (keys in plan order), read from the group's chunk bytes, or undefined
 * when a chunk is missing, of another codec than the plan reads, or of pages this reader does not know.
 */
export function readFlatRows(
  plans: readonly ColumnPlan[],
  rowGroup: RowGroup,
  bytes: GroupBytes,
  rows: number,
): Record<string, unknown>[] | undefined {
  const chunkOf = (path: string) => {
    const meta = rowGroup.columns.find((c) => c.meta_data?.path_in_schema.join('.') === path)?.meta_data;
    if (!meta || Number(meta.num_values) !== rows) return undefined;
    const start = chunkStart(meta);
    const chunk = bytes.chunks.find((c) => c.start === start);
    return chunk && chunk.bytes.length === Number(meta.total_compressed_size)
      ? { bytes: chunk.bytes, codec: meta.codec }
      : undefined;
  };
  const columns: unknown[][] = [];
  try {
    for (const plan of plans) {
      const maxDef = plan.struct ? 2 : 1;
      const read: { name: string; cells: unknown[]; def: Uint8Array }[] = [];
      for (const leaf of plan.leaves) {
        const chunk = chunkOf(leaf.path);
        if (!chunk) return undefined;
        const cells = leafCells(chunk.bytes, chunk.codec, leaf.kind, maxDef, rows);
        if (!cells) return undefined;
        read.push({ name: leaf.name, ...cells });
      }
      if (!plan.struct) {
        columns.push(read[0]!.cells);
        continue;
      }
      // a struct is null where its leaves say so (all of them: hyparquet refuses leaves that disagree)
      const structs = new Array<unknown>(rows);
      for (let r = 0; r < rows; r++) {
        const present = read[0]!.def[r]! > 0;
        for (const leaf of read) if (leaf.def[r]! > 0 !== present) return undefined;
        if (!present) {
          structs[r] = null;
          continue;
        }
        const cell: Record<string, unknown> = {};
        for (const leaf of read) cell[leaf.name] = leaf.cells[r];
        structs[r] = cell;
      }
      columns.push(structs);
    }
  } catch {
    return undefined;
  }
  const out = new Array<Record<string, unknown>>(rows);
  for (let r = 0; r < rows; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < plans.length; c++) row[plans[c]!.name] = columns[c]![r];
    out[r] = row;
  }
  return out;
}
