import { mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
// Types only: at run time the plugin needs nothing from llavakit, so it works with whichever llavakit loads it.
import type { Diagnostic, FormatPlugin, LlavaRecord, SourceRecord, WriteContext } from '@llavakit/format';
import * as z from 'zod';
import { TarWriter, tarEntrySize } from './tar.js';

/** Options of the WebDataset writer (`llava convert --to webdataset -O shard-size=500`). */
export const webDatasetOptionsSchema = z.object({
  shardSize: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Samples per shard: a new shard starts after this many.'),
  shardMaxBytes: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Also start a new shard before a shard would grow beyond this many bytes.'),
  maxShards: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Write at most this many shards; the records that do not fit are rejected (webdataset/shard-limit).'),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('shard')
    .describe('Shard file names are <prefix>-000000.tar, <prefix>-000001.tar, …'),
  requireImages: z
    .boolean()
    .default(true)
    .describe('Reject a record whose image cannot be read; false writes its JSON without the image.'),
});

/** Parsed options of the WebDataset writer. */
export type WebDatasetOptions = z.output<typeof webDatasetOptionsSchema>;

/** Rule ids of this plugin's diagnostics (namespaced by the format name). */
export const webDatasetRules = {
  imageMissing: 'webdataset/image-missing',
  shardLimit: 'webdataset/shard-limit',
} as const;

/** The member extension of an image, from its magic bytes; the source extension when unknown. */
export function imageExtension(bytes: Uint8Array, sourcePath: string): string {
  const at = (i: number) => bytes[i] ?? -1;
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpg';
  if (at(0) === 0x89 && at(1) === 0x50 && at(2) === 0x4e && at(3) === 0x47) return 'png';
  if (at(0) === 0x47 && at(1) === 0x49 && at(2) === 0x46) return 'gif';
  if (at(0) === 0x42 && at(1) === 0x4d) return 'bmp';
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 12));
  if (text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP') return 'webp';
  const dot = sourcePath.lastIndexOf('.');
  const extension = dot > sourcePath.lastIndexOf('/') ? sourcePath.slice(dot + 1).toLowerCase() : '';
  return /^[a-z0-9]{1,5}$/.test(extension) ? extension : 'bin';
}

function imagePaths(record: LlavaRecord): string[] {
  if (typeof record.image === 'string') return [record.image];
  if (Array.isArray(record.image)) return record.image.filter((path): path is string => typeof path === 'string');
  return [];
}

type Sample =
  | { readonly ok: true; readonly files: { name: string; data: Uint8Array }[] }
  | { readonly ok: false; readonly diagnostics: Diagnostic[] };

/** The tar members of one sample: its images (read through the host's image access) and its JSON. */
async function buildSample(
  source: SourceRecord,
  key: string,
  context: WriteContext<WebDatasetOptions>,
): Promise<Sample> {
  const { record } = source;
  const paths = imagePaths(record);
  const files: { name: string; data: Uint8Array }[] = [];
  const names: string[] = [];
  for (const [i, path] of paths.entries()) {
    const bytes = await context.images.readBytes(path);
    if (!bytes) {
      const diagnostic: Diagnostic = {
        ruleId: webDatasetRules.imageMissing,
        severity: context.options.requireImages ? 'error' : 'warning',
        message: `Image ${path} could not be read; WebDataset samples embed the image bytes.`,
        hint: 'Point llava at the images (e.g. --images <folder>), or pass -O require-images=false.',
        file: source.file,
        recordIndex: source.index,
        pointer: Array.isArray(record.image) ? `/image/${i}` : '/image',
        source: 'webdataset',
        ...(record.id !== undefined ? { recordId: record.id } : {}),
      };
      if (context.options.requireImages) return { ok: false, diagnostics: [diagnostic] };
      context.report(diagnostic);
      context.count('webdataset:image-skipped');
      continue;
    }
    const name = `${key}${paths.length > 1 ? `.${i}` : ''}.${imageExtension(bytes, path)}`;
    files.push({ name, data: bytes });
    names.push(name);
  }
  const { image: _image, ...rest } = record;
  const json = {
    ...rest,
    ...(names.length > 0 ? { image: Array.isArray(record.image) ? names : names[0] } : {}),
  };
  files.push({ name: `${key}.json`, data: new TextEncoder().encode(`${JSON.stringify(json)}\n`) });
  return { ok: true, files };
}

/** Move the finished staging folder into place; an existing empty folder is replaced, a non-empty one is kept. */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  const existing = await stat(target).catch(() => undefined);
  if (existing) {
    if (!existing.isDirectory() || (await readdir(target)).length > 0) {
      throw new Error(
        `Output ${target} already exists and is not an empty folder; WebDataset writes a folder of shards.`,
      );
    }
    await rmdir(target);
  }
  await rename(staging, target);
}

/**
 * Write records as WebDataset shards into the output folder: `<prefix>-000000.tar`, … Each sample is
 * `NNNNNN.<jpg|png|…>` (the image bytes, `NNNNNN.<n>.<ext>` for several images) plus `NNNNNN.json` (the LLaVA
 * record, its `image` replaced by the member names). Shards are written into a temporary folder beside the output and
 * moved into place when all are complete.
 */
async function writeShards(
  records: AsyncIterable<SourceRecord>,
  context: WriteContext<WebDatasetOptions>,
): Promise<void> {
  const { options } = context;
  const output = context.output.path;
  if (output === '-') {
    throw new Error('WebDataset writes a folder of tar shards; name it with -o <folder>.');
  }
  const target = resolve(output);
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  let shard: TarWriter | undefined;
  let shards = 0;
  let inShard = 0;
  let written = 0;
  try {
    for await (const source of records) {
      const key = String(written).padStart(6, '0');
      const sample = await buildSample(source, key, context);
      if (!sample.ok) {
        context.reject(source, sample.diagnostics);
        continue;
      }
      const size = sample.files.reduce((sum, file) => sum + tarEntrySize(file.data.length), 0);
      const full =
        shard !== undefined &&
        (inShard >= options.shardSize ||
          (options.shardMaxBytes !== undefined && shard.bytes + size + 1024 > options.shardMaxBytes));
      if (shard === undefined || full) {
        if (options.maxShards !== undefined && shards >= options.maxShards) {
          context.reject(source, [
            {
              ruleId: webDatasetRules.shardLimit,
              severity: 'error',
              message: `All ${options.maxShards} shards (-O max-shards) are full.`,
              hint: 'Raise -O max-shards or -O shard-size.',
              file: source.file,
              recordIndex: source.index,
              source: 'webdataset',
              ...(source.record.id !== undefined ? { recordId: source.record.id } : {}),
            },
          ]);
          continue;
        }
        await shard?.close();
        shard = await TarWriter.create(join(staging, `${options.prefix}-${String(shards).padStart(6, '0')}.tar`));
        shards++;
        inShard = 0;
      }
      for (const file of sample.files) await shard.add(file.name, file.data);
      inShard++;
      written++;
      context.accept(source);
    }
    await shard?.close();
    shard = undefined;
    context.count('webdataset:shards', shards);
    await moveIntoPlace(staging, target);
  } catch (error) {
    await shard?.abort();
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The WebDataset format: writes tar shards of `NNNNNN.jpg` + `NNNNNN.json` samples, the layout `webdataset` and
 * `wids` read for training.
 */
export const webDatasetFormat = {
  specVersion: 1,
  name: 'webdataset',
  description: 'WebDataset tar shards: NNNNNN.jpg + NNNNNN.json per sample (write only)',
  extensions: ['.tar'],
  limitations: [
    'writes only (reading shards back is not supported)',
    'the output is a folder of shards, not a file; standard output is not supported',
    'image paths are replaced by the member names inside the shard',
  ],
  optionsSchema: webDatasetOptionsSchema,
  write: writeShards,
} satisfies FormatPlugin<WebDatasetOptions>;

export default webDatasetFormat;
export { TarWriter, tarEntrySize, tarHeader } from './tar.js';
