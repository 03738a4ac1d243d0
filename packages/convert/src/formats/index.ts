import { createRequire } from 'node:module';
import type { FormatPlugin } from '@llavakit/format';
import { FormatRegistry } from '../plugins/registry.js';
import { llavaFormat } from './llava/index.js';
import { llavaQaFormat } from './llava-qa/index.js';
import { messagesFormat } from './messages/index.js';
import { openAiFormat } from './openai/index.js';
import { shareGptFormat } from './sharegpt/index.js';
import { swiftFormat } from './swift/index.js';

/** The formats that ship with llavakit, defined with the same contract as third-party plugins. */
export const builtinFormats: readonly FormatPlugin<object>[] = [
  llavaFormat,
  shareGptFormat,
  openAiFormat,
  messagesFormat,
  swiftFormat,
  llavaQaFormat,
] as FormatPlugin<object>[];

/** The version of this package: the version of every built-in format (`llava formats` shows it). */
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** A registry holding the built-in formats, ready for plugins to be added on top. */
export function createBuiltinRegistry(): FormatRegistry {
  const registry = new FormatRegistry();
  for (const format of builtinFormats) registry.add(format, { plugin: 'builtin', version, via: 'builtin' });
  return registry;
}
