import { readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { readRecords } from '@llavakit/reader';
import { datasetInfoRules } from '../formats/shared/rules.js';
import { openTextSink, writeFailure } from './sink.js';

/** A LLaMA-Factory `dataset_info.json` entry for a ShareGPT-formatted file. */
export interface DatasetInfoEntry {
  file_name: string;
  formatting: 'sharegpt';
  /** `messages` always; `images`, `videos` and `system` only when the file has such a column. */
  columns: { messages: string; images?: string; videos?: string; system?: string } & Record<string, string>;
  tags: Record<string, string>;
  [key: string]: unknown;
}

/** Which optional columns a written file holds (some record has the key). */
export interface DatasetColumns {
  readonly images: boolean;
  readonly videos: boolean;
  readonly system: boolean;
}

/** Options of {@link datasetInfoEntry} and {@link writeDatasetInfo}. */
export interface DatasetInfoOptions {
  /** Path of the `dataset_info.json` to write or merge into. */
  readonly datasetInfo: string;
  /** The converted file the entry points at. */
  readonly output: string;
  /** The ShareGPT layout written (`conversations`: from/value; `messages`: role/content). Default `conversations`. */
  readonly layout?: 'conversations' | 'messages';
  /** The dataset name (entry key). Default: the output file name without its extension. */
  readonly name?: string;
  /**
   * The optional columns the file holds. {@link writeDatasetInfo} reads the written file to find them when absent;
   * {@link datasetInfoEntry} then declares none of them.
   */
  readonly columns?: DatasetColumns;
}

/**
 * The `dataset_info.json` entry that makes LLaMA-Factory load a file written by the `sharegpt` format with no
 * hand edits: `file_name` relative to the dataset_info folder, `formatting: sharegpt`, the tags of the layout, and
 * only the columns the file has (LLaMA-Factory's converter indexes every declared column of every example: a
 * declared column that no record has is a KeyError).
 *
 * @example
 * ```ts
 * datasetInfoEntry({ datasetInfo: 'data/dataset_info.json', output: 'data/llava150k.json', columns: { images: true, videos: false, system: false } });
 * // { name: 'llava150k', entry: { file_name: 'llava150k.json', formatting: 'sharegpt', columns: { messages: 'conversations', images: 'images' }, tags: {…} } }
 * ```
 */
export function datasetInfoEntry(options: DatasetInfoOptions): { name: string; entry: DatasetInfoEntry } {
  const file = basename(options.output);
  const name = options.name ?? file.replace(/\.(jsonl|json|ndjson)$/i, '');
  const fileName = relative(dirname(resolve(options.datasetInfo)), resolve(options.output))
    .split(sep)
    .join('/');
  const messages = options.layout === 'messages';
  const present = options.columns ?? { images: false, videos: false, system: false };
  const columns: DatasetInfoEntry['columns'] = { messages: messages ? 'messages' : 'conversations' };
  if (present.images) columns.images = 'images';
  if (present.videos) columns.videos = 'videos';
  if (present.system) columns.system = 'system';
  return {
    name,
    entry: {
      file_name: fileName,
      formatting: 'sharegpt',
      columns,
      tags: messages
        ? {
            role_tag: 'role',
            content_tag: 'content',
            user_tag: 'user',
            assistant_tag: 'assistant',
            observation_tag: 'observation',
            function_tag: 'function_call',
            system_tag: 'system',
          }
        : {
            role_tag: 'from',
            content_tag: 'value',
            user_tag: 'human',
            assistant_tag: 'gpt',
            observation_tag: 'observation',
            function_tag: 'function_call',
            system_tag: 'system',
          },
    },
  };
}

/** Read a written ShareGPT file (streaming) and tell which optional columns some record has. */
export async function datasetColumnsOf(path: string): Promise<DatasetColumns> {
  let images = false;
  let videos = false;
  let system = false;
  for await (const item of readRecords(path, { file: path })) {
    if (!item.ok || typeof item.value !== 'object' || item.value === null) continue;
    const v = item.value as Record<string, unknown>;
    images ||= 'images' in v;
    videos ||= 'videos' in v;
    system ||= 'system' in v;
    if (images && videos && system) break;
  }
  return { images, videos, system };
}

/**
 * Write the entry of {@link datasetInfoEntry} into `dataset_info.json`, creating the file or merging into it: other
 * datasets are kept as they are; an existing entry of the same name keeps its other fields (`ranking`, `media_dir`,
 * …) and gets `file_name`, `formatting`, `columns` and `tags` replaced. The columns are those the written file has
 * (read back from `output` unless `columns` is given). The file is replaced atomically.
 *
 * @example
 * ```ts
 * const summary = await convert({ inputs: ['llava.json'], to: 'sharegpt', output: 'data/llava.json', registry });
 * if (!summary.failed) await writeDatasetInfo({ datasetInfo: 'data/dataset_info.json', output: 'data/llava.json' });
 * ```
 */
export async function writeDatasetInfo(
  options: DatasetInfoOptions,
): Promise<{ path: string; name: string; entry: DatasetInfoEntry; created: boolean }> {
  let existing: Record<string, unknown> = {};
  let created = false;
  let text: string | undefined;
  try {
    text = await readFile(options.datasetInfo, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw writeFailure(options.datasetInfo, error, 'dataset info');
    created = true;
  }
  if (text !== undefined && text.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new DiagnosticError(
        diagnose(datasetInfoRules.invalid, {
          message: `${options.datasetInfo} is not valid JSON (${(error as Error).message}).`,
          file: options.datasetInfo,
        }),
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new DiagnosticError(
        diagnose(datasetInfoRules.invalid, {
          message: `${options.datasetInfo} is not a JSON object of dataset entries.`,
          file: options.datasetInfo,
        }),
      );
    }
    existing = parsed as Record<string, unknown>;
  }
  const columns = options.columns ?? (await datasetColumnsOf(options.output));
  const { name, entry } = datasetInfoEntry({ ...options, columns });
  const previous = existing[name];
  const old = (typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? previous : {}) as Record<
    string,
    unknown
  >;
  // columns and tags describe the file as written now: stale ones (a `system` column the file lost) would not load
  const merged: DatasetInfoEntry = { ...old, ...entry };
  existing[name] = merged;
  const sink = await openTextSink(options.datasetInfo, { what: 'dataset info' });
  try {
    await sink.write(`${JSON.stringify(existing, null, 2)}\n`);
    await sink.close();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return { path: options.datasetInfo, name, entry: merged, created };
}
