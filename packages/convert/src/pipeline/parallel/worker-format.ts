/** How a worker thread finds the format the main thread named: a built-in by name, a plugin by its module file. */
import { pathToFileURL } from 'node:url';
import type { FormatPlugin } from '@llavakit/format';
import { builtinFormats } from '../../formats/index.js';
import { formatsOfExport } from '../../plugins/load.js';
import type { FormatRef } from './protocol.js';

/**
 * The format a {@link FormatRef} names, in this thread: a built-in format, or the plugin's format from the same
 * module file the main thread imported, checked and snapshotted by the same contract check (`formatsOfExport`).
 * Throws when the module no longer exports it (the pool then falls back to one thread).
 */
export async function formatOf(ref: FormatRef): Promise<FormatPlugin<object>> {
  if (!ref.module) {
    const builtin = builtinFormats.find((f) => f.name === ref.name);
    if (!builtin) throw new Error(`no built-in format "${ref.name}"`);
    return builtin;
  }
  const namespace: unknown = await import(pathToFileURL(ref.module).href);
  const format = formatsOfExport(namespace, ref.plugin ?? ref.module).formats.find((f) => f.name === ref.name);
  if (!format) throw new Error(`${ref.module} no longer exports format "${ref.name}"`);
  return format;
}
