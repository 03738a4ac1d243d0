import { createRequire } from 'node:module';
import type { FormatPlugin } from '@llavakit/format';
import { FormatRegistry } from '../plugins/registry.js';
import llava from './llava/index.js';
import llavaQa from './llava-qa/index.js';
import messages from './messages/index.js';
import openai from './openai/index.js';
import sharegpt from './sharegpt/index.js';
import swift from './swift/index.js';

/**
 * The formats that ship with llavakit: each a folder default-exporting `defineFormat(...)`, the contract third-party
 * plugins use. Adding a built-in format is one folder and one line here (the order is `llava formats`' order).
 */
export const builtinFormats: readonly FormatPlugin<object>[] = [
  llava,
  sharegpt,
  openai,
  messages,
  swift,
  llavaQa,
] as FormatPlugin<object>[];

/** The version of this package: the version of every built-in format (`llava formats` shows it). */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** A registry holding the built-in formats, ready for plugins to be added on top. */
export function createBuiltinRegistry(): FormatRegistry {
  const registry = new FormatRegistry();
  // Registered as a plugin is: checked by checkFormatPlugin (a frozen snapshot), then added with its origin.
  for (const format of builtinFormats) {
    if (!registry.addCandidate(format, { plugin: 'builtin', version, via: 'builtin' })) {
      throw new Error(`built-in format ${format.name}: ${registry.diagnostics.at(-1)?.message}`);
    }
  }
  return registry;
}
