import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SourceRecord, WriteContext } from '@llavakit/format';
import { ParquetWriter } from 'hyparquet-writer';
import { datasetCard } from './card.js';
import { decideLayout, EXTRA_COLUMN, featuresOf, type Layout, LLAVAKIT_METADATA_KEY } from './layout.js';
import { type ParquetOptions, parquetError, parquetRules } from './options.js';
import { checkFolder, FileByteWriter, isSingleFile, moveFolderIntoPlace } from './output.js';
import { buildRow, type Fetched, fetchImages, READ_AHEAD, type Row } from './row.js';
import { parquetSchema, type SchemaElement } from './schema.js';

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
  let kvMetadata: { key: string; value: string }[] = [];
  const shards: Shard[] = [];
  let shard: Shard | undefined;
  let pending: Row[] = [];
  let pendingBytes = 0;
  let head: Fetched[] = [];
  let ahead: Fetched[] = [];
  let totalRows = 0;
  let totalBytes = 0;

  const openShard = (): Shard => {
    const path = single ? join(staging, 'out.parquet') : join(dataDir, `.shard-${shards.length}.parquet`);
    const file = new FileByteWriter(path);
    const writer = new ParquetWriter({
      writer: file,
      schema: schema!,
      codec: 'SNAPPY',
      kvMetadata,
      createdBy: 'llavakit (hyparquet-writer)',
    });
    const opened: Shard = { path, file, writer, rowGroups: 0, rows: 0 };
    shards.push(opened);
    return opened;
  };

  const flushRows = async () => {
    if (pending.length === 0) return;
    const rows = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (shard && !single && shard.rowGroups > 0 && shard.file.offset + bytes > options.shardBytes) {
      await shard.writer.finish();
      shard = undefined;
    }
    shard ??= openShard();
    const names = ['id', 'conversations', layout!.image, ...layout!.extras.map((e) => e.name), EXTRA_COLUMN];
    const columnData = names.map((name, c) => ({
      name,
      data: rows.map((row) => row.cells[c]),
      ...(c === 2 ? { statistics: false, encoding: 'PLAIN' as const } : {}),
    }));
    await shard.writer.write({ columnData, rowGroupSize: rows.length });
    shard.rowGroups++;
    shard.rows += rows.length;
    totalRows += rows.length;
    totalBytes += bytes;
    for (const row of rows) context.accept(row.source);
  };

  const add = async (fetched: Fetched) => {
    const built = await buildRow(fetched, layout!, context);
    if (!built.ok) {
      context.reject(fetched.source, built.diagnostics);
      return;
    }
    if (pending.length > 0 && pendingBytes + built.row.bytes > options.rowGroupBytes) await flushRows();
    pending.push(built.row);
    pendingBytes += built.row.bytes;
    if (pending.length >= options.rowGroupRows) await flushRows();
  };

  const start = () => {
    layout = decideLayout(
      head.map((f) => f.source.record),
      options.imageLayout === 'auto' ? undefined : options.imageLayout,
    );
    schema = parquetSchema(layout);
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
        if (head.length < options.rowGroupRows) continue;
        start();
        const first = head;
        head = [];
        for (const f of first) await add(f);
        continue;
      }
      ahead.push(fetched);
      if (ahead.length >= READ_AHEAD) await add(ahead.shift()!);
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

    const count = shards.length;
    const names: string[] = [];
    for (const [i, s] of shards.entries()) {
      const name = `${options.split}-${String(i).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.parquet`;
      if (!single) await rename(s.path, join(dataDir, name));
      names.push(name);
    }
    context.count('parquet:shards', count);
    context.count(
      'parquet:row-groups',
      shards.reduce((n, s) => n + s.rowGroups, 0),
    );
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
