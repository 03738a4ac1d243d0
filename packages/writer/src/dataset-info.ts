import { readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { DiagnosticError, diagnose } from '@llavakit/diagnostics';
import { datasetInfoRules } from './formats/rules.js';
import { openTextSink, writeFailure } from './sink.js';

/** A LLaMA-Factory `dataset_info.json` entry for a ShareGPT-formatted file. */
export interface DatasetInfoEntry {
  file_name: string;
  formatting: 'sharegpt';
  columns: { messages: string; images: string; system: string } & Record<string, string>;
  tags: Record<string, string>;
  [key: string]: unknown;
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
}

/**
 * The `dataset_info.json` entry that makes LLaMA-Factory load a file written by the `sharegpt` format with no
 * hand edits: `file_name` relative to the dataset_info folder, `formatting: sharegpt`, the columns and the tags of
 * the layout.
 *
 * @example
 * ```ts
 * datasetInfoEntry({ datasetInfo: 'data/dataset_info.json', output: 'data/llava150k.json' });
 * // { name: 'llava150k', entry: { file_name: 'llava150k.json', formatting: 'sharegpt', columns: {…}, tags: {…} } }
 * ```
 */
export function datasetInfoEntry(options: DatasetInfoOptions): { name: string; entry: DatasetInfoEntry } {
  const file = basename(options.output);
  const name = options.name ?? file.replace(/\.(jsonl|json|ndjson)$/i, '');
  const fileName = relative(dirname(resolve(options.datasetInfo)), resolve(options.output))
    .split(sep)
    .join('/');
  const messages = options.layout === 'messages';
  return {
    name,
    entry: {
      file_name: fileName,
      formatting: 'sharegpt',
      columns: { messages: messages ? 'messages' : 'conversations', images: 'images', system: 'system' },
      tags: messages
        ? {
            role_tag: 'role',
            content_tag: 'content',
            user_tag: 'user',
            assistant_tag: 'assistant',
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

/**
 * Write the entry of {@link datasetInfoEntry} into `dataset_info.json`, creating the file or merging into it: other
 * datasets are kept as they are; an existing entry of the same name keeps its other fields (`ranking`, `media_dir`,
 * …) and gets `file_name`, `formatting`, `columns` and `tags` updated. The file is replaced atomically.
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
  const { name, entry } = datasetInfoEntry(options);
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
  const previous = existing[name];
  const old = (typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? previous : {}) as Record<
    string,
    unknown
  >;
  const merged: DatasetInfoEntry = {
    ...old,
    ...entry,
    columns: { ...asStrings(old.columns), ...entry.columns },
    tags: { ...asStrings(old.tags), ...entry.tags },
  };
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

function asStrings(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
