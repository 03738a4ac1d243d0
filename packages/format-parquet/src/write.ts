import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import type { Diagnostic, LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import {
  decideLayout,
  EXTRA_COLUMN,
  featuresOf,
  featuresYaml,
  fits,
  IMAGE_SHAPE_KEY,
  type Layout,
  LLAVAKIT_METADATA_KEY,
} from './layout.js';
import { type ParquetOptions, parquetRules } from './options.js';

/** A Parquet schema element (the writer's own hyparquet version of the type). */
type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

/** A byte writer that appends to a file descriptor whenever more than 1 MiB is buffered (constant memory). */
class FileByteWriter extends ByteWriter {
  private readonly fd: number;
  constructor(path: string) {
    super(1 << 20);
    this.fd = openSync(path, 'w');
  }
  override ensure(size: number): void {
    if (this.index > 1 << 20) this.drain();
    super.ensure(size);
  }
  private drain(): void {
    let at = 0;
    while (at < this.index) at += writeSync(this.fd, new Uint8Array(this.buffer, at, this.index - at));
    this.index = 0;
  }
  override finish(): void {
    this.drain();
    closeSync(this.fd);
  }
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

const utf8: Partial<SchemaElement> = { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };

function imageStruct(name: string, repetition: 'OPTIONAL'): SchemaElement[] {
  return [
    { name, repetition_type: repetition, num_children: 2 },
    { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    { name: 'path', ...utf8 } as SchemaElement,
  ];
}

/** The Parquet schema of a layout (the shape of the Hub's LLaVA sets, plus the extra columns). */
export function parquetSchema(layout: Layout): SchemaElement[] {
  const columns: SchemaElement[][] = [
    [{ name: 'id', ...utf8 } as SchemaElement],
    [
      { name: 'conversations', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'from', ...utf8 } as SchemaElement,
      { name: 'value', ...utf8 } as SchemaElement,
    ],
    layout.image === 'image'
      ? imageStruct('image', 'OPTIONAL')
      : [
          { name: 'images', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          ...imageStruct('element', 'OPTIONAL'),
        ],
  ];
  for (const extra of layout.extras) {
    const element: SchemaElement =
      extra.kind === 'bool'
        ? { name: extra.name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }
        : extra.kind === 'int64'
          ? { name: extra.name, type: 'INT64', repetition_type: 'OPTIONAL' }
          : extra.kind === 'float64'
            ? { name: extra.name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
            : ({ name: extra.name, ...utf8 } as SchemaElement);
    columns.push([element]);
  }
  columns.push([{ name: EXTRA_COLUMN, ...utf8 } as SchemaElement]);
  return [{ name: 'schema', num_children: columns.length }, ...columns.flat()];
}

interface ImageCell {
  bytes: Uint8Array | null;
  path: string | null;
}

/** One row ready for the columns, with its estimated uncompressed size. */
interface Row {
  readonly source: SourceRecord;
  readonly cells: unknown[];
  readonly bytes: number;
}

type Built = { ok: true; row: Row } | { ok: false; diagnostics: Diagnostic[] };

function imagePathsOf(record: LlavaRecord): string[] {
  if (typeof record.image === 'string') return [record.image];
  if (Array.isArray(record.image)) return record.image;
  return [];
}

/** A record whose image reads have started (output paths rewritten while it was the current record). */
interface Fetched {
  readonly source: SourceRecord;
  readonly images: readonly {
    readonly path: string;
    readonly out: string;
    readonly bytes: Promise<Uint8Array | undefined>;
  }[];
}

/**
 * Start reading a record's image bytes while it is the host's current record (the host answers its embedded images
 * first), so reads overlap while earlier rows are built.
 */
function fetchImages(source: SourceRecord, context: WriteContext<ParquetOptions>): Fetched {
  return {
    source,
    images: imagePathsOf(source.record).map((path) => ({
      path,
      out: context.images.rewrite(path),
      bytes: context.images.readBytes(path).then(
        (bytes) => bytes ?? source.embedded?.get(path),
        () => source.embedded?.get(path),
      ),
    })),
  };
}

/** How many records may have image reads in flight ahead of the row being built. */
const READ_AHEAD = 32;

async function buildRow(fetched: Fetched, layout: Layout, context: WriteContext<ParquetOptions>): Promise<Built> {
  const { source } = fetched;
  const { record } = source;
  const overrides: Record<string, unknown> = {};
  const place = {
    file: source.file,
    recordIndex: source.index,
    source: 'parquet',
    ...(record.id !== undefined ? { recordId: record.id } : {}),
  };
  const paths = imagePathsOf(record);
  if (layout.image === 'image' && paths.length > 1) {
    return {
      ok: false,
      diagnostics: [
        {
          ruleId: parquetRules.imageLayout,
          severity: 'error',
          message: `Record has ${paths.length} images, but this file has one \`image\` column (decided from its first row group).`,
          hint: 'Pass -O image-layout=images to write an `images` list column.',
          pointer: '/image',
          ...place,
        },
      ],
    };
  }
  let imageBytes = 0;
  const cells: ImageCell[] = [];
  for (const [i, { path, out, bytes: reading }] of fetched.images.entries()) {
    const bytes = await reading;
    if (!bytes) {
      context.report({
        ruleId: parquetRules.imageNotEmbedded,
        severity: 'warning',
        message: `Image ${path} could not be read; the row names its path with no bytes.`,
        hint: 'Point llava at the images (--images <folder|prefix=folder|zip>), or use --missing-images drop.',
        pointer: Array.isArray(record.image) ? `/image/${i}` : '/image',
        ...place,
      });
      context.count('parquet:images-path-only');
    } else {
      context.count('parquet:images-embedded');
      imageBytes += bytes.length;
    }
    cells.push({ bytes: bytes ?? null, path: out });
  }
  let imageCell: unknown = null;
  if (layout.image === 'image') {
    imageCell = cells[0] ?? null;
    if (Array.isArray(record.image)) overrides[IMAGE_SHAPE_KEY] = 'list';
  } else {
    imageCell = record.image === undefined ? null : cells;
    if (typeof record.image === 'string') overrides[IMAGE_SHAPE_KEY] = 'string';
  }

  let id: string | null = null;
  if (typeof record.id === 'string') id = record.id;
  else if (record.id !== undefined) {
    id = String(record.id);
    overrides.id = record.id;
  }
  const turns = record.conversations.map((turn) => ({ from: turn.from, value: turn.value }));
  if (record.conversations.some((turn) => Object.keys(turn).some((k) => k !== 'from' && k !== 'value'))) {
    overrides.conversations = record.conversations;
  }
  const row: unknown[] = [id, turns, imageCell];
  const inLayout = new Set<string>();
  for (const extra of layout.extras) {
    inLayout.add(extra.name);
    const value = (record as Record<string, unknown>)[extra.name];
    if (value === undefined) {
      row.push(null);
    } else if (fits(extra.kind, value)) {
      row.push(
        extra.kind === 'json' ? JSON.stringify(value) : extra.kind === 'int64' ? BigInt(value as number) : value,
      );
    } else {
      row.push(null);
      overrides[extra.name] = value;
    }
  }
  for (const [key, value] of Object.entries(record)) {
    if (key === 'id' || key === 'conversations' || key === 'image' || inLayout.has(key)) continue;
    if (value !== undefined) overrides[key] = value;
  }
  const extraText = Object.keys(overrides).length > 0 ? JSON.stringify(overrides) : null;
  row.push(extraText);
  let textBytes = (id?.length ?? 0) + (extraText?.length ?? 0);
  for (const turn of turns) textBytes += turn.from.length + turn.value.length;
  return { ok: true, row: { source, cells: row, bytes: imageBytes + textBytes } };
}

interface Shard {
  readonly path: string;
  readonly file: FileByteWriter;
  readonly writer: ParquetWriter;
  rowGroups: number;
  rows: number;
}

/** Where the output goes: one `.parquet` file, or the Hub folder layout. */
function isSingleFile(path: string): boolean {
  return path.toLowerCase().endsWith('.parquet');
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
    throw new DiagnosticError({
      ruleId: parquetRules.output,
      severity: 'error',
      message: 'Parquet is written to a folder (the Hub layout) or a .parquet file, not to standard output.',
      hint: 'Name it with -o out/ or -o data.parquet.',
      source: 'parquet',
    });
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

/** The output folder must be new, empty, or hold only dot-files (a fresh clone of a Hub repository). */
async function checkFolder(target: string, split: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) return;
  const problem = (message: string) =>
    new DiagnosticError({
      ruleId: parquetRules.output,
      severity: 'error',
      message,
      hint: 'Choose a new folder, or remove the previous output first.',
      file: target,
      source: 'parquet',
    });
  if (!existing.isDirectory()) throw problem(`Output ${target} exists and is not a folder.`);
  const entries = (await readdir(target)).filter((name) => !name.startsWith('.'));
  if (entries.length > 0) {
    throw problem(
      `Output folder ${target} already holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}; split ${split} would mix with it.`,
    );
  }
}

async function moveFolderIntoPlace(staging: string, target: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (!existing) {
    await rename(staging, target);
    return;
  }
  const entries = await readdir(target);
  if (entries.length === 0) {
    await rmdir(target);
    await rename(staging, target);
    return;
  }
  // Only dot-files there (checked before writing): move data/ and README.md in.
  await rename(join(staging, 'data'), join(target, 'data'));
  await rename(join(staging, 'README.md'), join(target, 'README.md'));
  await rm(staging, { recursive: true, force: true });
}

/** The dataset card: YAML front matter the Hub reads (`configs`, `dataset_info`), and a short description. */
export function datasetCard(layout: Layout, split: string, rows: number, bytes: number): string {
  return [
    '---',
    'configs:',
    '- config_name: default',
    '  data_files:',
    `  - split: ${split}`,
    `    path: data/${split}-*`,
    'dataset_info:',
    '  features:',
    ...featuresYaml(layout),
    '  splits:',
    `  - name: ${split}`,
    `    num_bytes: ${bytes}`,
    `    num_examples: ${rows}`,
    '---',
    '',
    '# Dataset',
    '',
    `LLaVA-format conversations with ${layout.image === 'image' ? 'one embedded image per row (`image`)' : 'a list of embedded images per row (`images`)'}, written by llavakit.`,
    '',
    `Columns: \`id\`, \`conversations\` (list of \`{from, value}\`), \`${layout.image}\` (the \`datasets\` Image feature; null for text-only rows)${layout.extras.length > 0 ? `, ${layout.extras.map((e) => `\`${e.name}\`${e.kind === 'json' ? ' (JSON text)' : ''}`).join(', ')}` : ''}, and \`${EXTRA_COLUMN}\` (per-row JSON that lets llavakit restore each record exactly; null in most rows).`,
    '',
  ].join('\n');
}
