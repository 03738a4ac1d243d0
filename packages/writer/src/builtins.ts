import { createRequire } from 'node:module';
import { type FormatPlugin, FormatRegistry } from '@llavakit/format';
import { llavaFormat } from './formats/llava.js';
import { llavaQaFormat } from './formats/llava-qa.js';
import { messagesFormat } from './formats/messages.js';
import { openAiFormat } from './formats/openai.js';
import { shareGptFormat } from './formats/sharegpt.js';
import { swiftFormat } from './formats/swift.js';

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
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** A registry holding the built-in formats, ready for plugins to be added on top. */
export function createBuiltinRegistry(): FormatRegistry {
  const registry = new FormatRegistry();
  for (const format of builtinFormats) registry.add(format, { plugin: 'builtin', version, via: 'builtin' });
  return registry;
}
