/** How a worker thread finds the format the main thread named: a built-in by name, a plugin by its module file. */
import { pathToFileURL } from 'node:url';
import type { FormatPlugin } from '@llavakit/format';
import type { FormatRef } from './protocol.js';

/**
 * The module of each built-in format (the folders `formats/index.ts` lists): a worker imports only the formats it
 * runs, not all of them (that halves its start-up, which every parallel run waits for).
 */
export const BUILTIN_FORMAT_MODULES: Readonly<Record<string, string>> = {
  llava: '../../formats/llava/index.js',
  sharegpt: '../../formats/sharegpt/index.js',
  openai: '../../formats/openai/index.js',
  messages: '../../formats/messages/index.js',
  swift: '../../formats/swift/index.js',
  'llava-qa': '../../formats/llava-qa/index.js',
};

/**
 * The format a {@link FormatRef} names, in this thread: a built-in format, or the plugin's format from the same
 * module file the main thread imported, checked and snapshotted by the same contract check (`formatsOfExport`).
 * Throws when the module no longer exports it (the pool then falls back to one thread).
 */
export async function formatOf(ref: FormatRef): Promise<FormatPlugin<object>> {
  if (!ref.module) {
    const path = Object.hasOwn(BUILTIN_FORMAT_MODULES, ref.name) ? BUILTIN_FORMAT_MODULES[ref.name] : undefined;
    if (!path) throw new Error(`no built-in format "${ref.name}"`);
    const builtin = ((await import(path)) as { default: FormatPlugin<object> }).default;
    if (builtin?.name !== ref.name) throw new Error(`no built-in format "${ref.name}"`);
    return builtin;
  }
  const [{ formatsOfExport }, namespace] = await Promise.all([
    import('../../plugins/load.js'),
    import(pathToFileURL(ref.module).href) as Promise<unknown>,
  ]);
  const format = formatsOfExport(namespace, ref.plugin ?? ref.module).formats.find((f) => f.name === ref.name);
  if (!format) throw new Error(`${ref.module} no longer exports format "${ref.name}"`);
  return format;
}
