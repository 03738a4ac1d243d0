import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SourceRecord, WriteContext } from '@llavakit/format';
import { ParquetWriter } from 'hyparquet-writer';
import { datasetCard } from './card.js';
import { decideLayout, EXTRA_COLUMN, featuresOf, type Layout, LLAVAKIT_METADATA_KEY } from './layout.js';
import { type ParquetOptions, parquetError, parquetRules } from './options.js';
import { checkFolder, FileByteWriter, isSingleFile, moveFolderIntoPlace } from './output.js';
import { movedRowGroup, originOf, type RowOrigin, type SourceGroup, sameRow, sameSchema } from './passthrough.js';
import { type Built, buildRow, type Fetched, fetchImages, READ_AHEAD, type Row } from './row.js';
import { parquetSchema, type SchemaElement } from './schema.js';
import { snappyCompress } from './snappy.js';
import { TurnsCell } from './turns.js';

interface Shard {
  readonly path: string;
  readonly file: FileByteWriter;
  readonly writer: ParquetWriter;
  rowGroups: number;
  rows: number;
}

/**
 * Write records as Parquet in the Hugging Face layout. A `-o` ending in `.parquet` is one file; anything else is a
 * folder receiving `data/<split>-NNNNN-of-NNNNN.parquet` shards and a `README.md` dataset card. Everything is written
 * into a temporary folder beside the output and moved into place when complete.
 */
export async function writeParquet(
  records: AsyncIterable<SourceRecord>,
  context: WriteContext<ParquetOptions>,
): Promise<void> {
  const { options } = context;
  const output = context.output.path;
  if (output === '-') {
    throw parquetError(
      parquetRules.output,
      'Parquet is written to a folder (the Hub layout) or a .parquet file, not to standard output.',
      undefined,
      'Name it with -o out/ or -o data.parquet.',
    );
  }
  const target = resolve(output);
  const single = isSingleFile(target);
  if (!single) await checkFolder(target, options.split);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  const dataDir = single ? staging : join(staging, 'data');
  if (!single) await mkdir(dataDir);

  let layout: Layout | undefined;
  let schema: SchemaElement[] | undefined;
  let names: string[] = [];
  let kvMetadata: { key: string; value: string }[] = [];
  /** Files written so far (the footer state of each is dropped when it is finished). */
  const written: string[] = [];
  let shard: Shard | undefined;
  let rowGroups = 0;
  let copiedGroups = 0;
  let pending: Row[] = [];
  let pendingBytes = 0;
  let pendingImageRows = 0;
  /** The source row group whose rows, in order, `pending` holds so far (copied as is when complete). */
  let copying: SourceGroup | undefined;
  /** Whether a source file's schema is the one written (decided once per file). */
  const schemaMatches = new WeakMap<object, boolean>();
  let head: Fetched[] = [];
  let headImageRows = 0;
  let ahead: Fetched[] = [];
  let totalRows = 0;
  let totalBytes = 0;

  const openShard = (): Shard => {
    const path = single ? join(staging, 'out.parquet') : join(dataDir, `.shard-${written.length}.parquet`);
    const file = new FileByteWriter(path);
    const writer = new ParquetWriter({
      writer: file,
      schema: schema!,
      codec: 'SNAPPY',
      compressors: { SNAPPY: snappyCompress },
      kvMetadata,
      createdBy: 'llavakit (hyparquet-writer)',
    });
    written.push(path);
    return { path, file, writer, rowGroups: 0, rows: 0 };
  };

  /** Finish the current shard if `bytes` more would take it past the shard size (never before its first group). */
  const roomFor = async (bytes: number) => {
    if (shard && !single && shard.rowGroups > 0 && shard.file.offset + bytes > options.shardBytes) {
      await shard.writer.finish();
      shard = undefined;
    }
    shard ??= openShard();
    return shard;
  };

  const taken = () => {
    const rows = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    pendingImageRows = 0;
    copying = undefined;
    return { rows, bytes };
  };

  const done = (target: Shard, rows: readonly Row[], bytes: number) => {
    target.rowGroups++;
    target.rows += rows.length;
    rowGroups++;
    totalRows += rows.length;
    totalBytes += bytes;
    for (const row of rows) context.accept(row.source);
  };

  /** Encode the pending rows as one row group. */
  const flushRows = async () => {
    if (pending.length === 0) return;
    const { rows, bytes } = taken();
    const target = await roomFor(bytes);
    const columnData = names.map((name, c) => ({
      name,
      data: rows.map((row) => {
        const cell = row.cells[c];
        return cell instanceof TurnsCell ? cell.decode() : cell;
      }),
      // Image bytes: no statistics, no dictionary. Long texts: no min/max kept in the footer for every group.
      ...(c === 2 ? { statistics: false, encoding: 'PLAIN' as const } : c === 1 ? { statistics: false } : {}),
    }));
    await target.writer.write({ columnData, rowGroupSize: rows.length });
    done(target, rows, bytes);
  };

  /** Copy the source row group the pending rows are (all its rows, unchanged) byte for byte. */
  const copyRows = async (group: SourceGroup) => {
    const { rows, bytes } = taken();
    const target = await roomFor(group.length);
    const offset = target.file.offset;
    if (group.chunks) target.file.writeChunks(group.chunks, group.length);
    else target.file.copyFrom(group.file, group.start, group.length);
    target.writer.row_groups.push(
      movedRowGroup(group.rowGroup, group.start, offset) as (typeof target.writer.row_groups)[number],
    );
    target.writer.num_rows += BigInt(rows.length);
    copiedGroups++;
    done(target, rows, bytes);
  };

  /** The row's origin when its cells are exactly what its source row group holds (so the group can be copied). */
  const copyableOrigin = (row: Row): RowOrigin | undefined => {
    const origin = originOf(row.source.record);
    if (!origin) return undefined;
    const { metadata } = origin.group;
    let same = schemaMatches.get(metadata);
    if (same === undefined) {
      same = sameSchema(metadata.schema, schema as typeof metadata.schema);
      schemaMatches.set(metadata, same);
    }
    return same && sameRow(row.cells, names, origin.raw) ? origin : undefined;
  };

  /** Take a built row into the pending row group (a promise only when a row group is written on the way). */
  const addBuilt = (fetched: Fetched, built: Built): Promise<void> | undefined => {
    if (!built.ok) {
      context.reject(fetched.source, built.diagnostics);
      return undefined;
    }
    const { row } = built;
    const origin = copyableOrigin(row);
    if (!(copying && origin?.group === copying && origin.row === pending.length)) {
      // Not the next row of the group being collected: those rows are encoded with the others.
      copying = undefined;
      if (origin?.row === 0) {
        // The first row of a source group: start it on a row group of its own, so it can be copied whole.
        const group = origin.group;
        return flushRows().then(() => {
          copying = group;
          return addRow(row);
        });
      }
    }
    return addRow(row);
  };

  const addRow = (row: Row): Promise<void> | undefined => {
    if (pending.length > 0 && pendingBytes + row.bytes > options.rowGroupBytes) {
      return flushRows().then(() => pushRow(row));
    }
    return pushRow(row);
  };

  const pushRow = (row: Row): Promise<void> | undefined => {
    pending.push(row);
    pendingBytes += row.bytes;
    if (row.withImages) pendingImageRows++;
    if (copying && pending.length === copying.rows) return copyRows(copying);
    if (pending.length >= options.rowGroupRows || pendingImageRows >= options.rowGroupImageRows) return flushRows();
    return undefined;
  };

  /**
   * Build a record's row and add it. Synchronous (undefined) for the common row — its bytes at hand, no row group
   * written — so a re-shard's 150K rows do not each cost a promise and a turn of the event loop.
   */
  const add = (fetched: Fetched): Promise<void> | undefined => {
    const building = buildRow(fetched, layout!, context);
    return building instanceof Promise
      ? building.then((built) => addBuilt(fetched, built))
      : addBuilt(fetched, building);
  };

  const start = () => {
    layout = decideLayout(
      head.map((f) => f.source.record),
      options.imageLayout === 'auto' ? undefined : options.imageLayout,
    );
    schema = parquetSchema(layout);
    names = ['id', 'conversations', layout.image, ...layout.extras.map((e) => e.name), EXTRA_COLUMN];
    kvMetadata = [
      { key: 'huggingface', value: JSON.stringify({ info: { features: featuresOf(layout) } }) },
      {
        key: LLAVAKIT_METADATA_KEY,
        value: JSON.stringify({
          version: 1,
          overrides: EXTRA_COLUMN,
          jsonColumns: layout.extras.filter((e) => e.kind === 'json').map((e) => e.name),
        }),
      },
    ];
  };

  try {
    for await (const source of records) {
      if (context.signal?.aborted) throw new Error('Conversion aborted.');
      const fetched = fetchImages(source, context);
      if (!layout) {
        // Decide the columns from the first row group's records (held only until then).
        head.push(fetched);
        if (fetched.images.length > 0) headImageRows++;
        if (head.length < options.rowGroupRows && headImageRows < options.rowGroupImageRows) continue;
        start();
        const first = head;
        head = [];
        for (const f of first) await add(f);
        continue;
      }
      ahead.push(fetched);
      if (ahead.length >= READ_AHEAD) {
        const adding = add(ahead.shift()!);
        if (adding) await adding;
      }
    }
    if (!layout) {
      start();
      const first = head;
      head = [];
      for (const f of first) await add(f);
    }
    for (const f of ahead) await add(f);
    ahead = [];
    await flushRows();
    // An empty dataset still gets one valid file with its schema.
    shard ??= openShard();
    await shard.writer.finish();
    shard = undefined;

    const count = written.length;
    for (const [i, path] of written.entries()) {
      const name = `${options.split}-${String(i).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.parquet`;
      if (!single) await rename(path, join(dataDir, name));
    }
    context.count('parquet:shards', count);
    context.count('parquet:row-groups', rowGroups);
    if (copiedGroups > 0) context.count('parquet:row-groups-copied', copiedGroups);
    if (single) {
      await rename(join(staging, 'out.parquet'), target);
      await rm(staging, { recursive: true, force: true });
      return;
    }
    await writeFile(join(staging, 'README.md'), datasetCard(layout!, options.split, totalRows, totalBytes));
    await moveFolderIntoPlace(staging, target);
  } catch (error) {
    shard?.file.close();
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
