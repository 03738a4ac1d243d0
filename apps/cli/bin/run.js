#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { flush, handle, run, settings } from '@oclif/core';

settings.enableAutoTranspile = false;

/**
 * A command-line parsing error as one line saying what is wrong, and where to read more: oclif's own message adds
 * notes about multiple-value flags and then prints the whole usage of the command.
 */
function oneLine(error) {
  const lines = String(error.message ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && line !== 'The following error occurred:');
  const end = lines.findIndex((line) => /^(Note:|See more help)/.test(line));
  const relevant = (end === -1 ? lines : lines.slice(0, end))
    // "inputs  Input files (…)": an argument or flag name and its description, in a list under the message.
    .map((line, index) => (index === 0 ? line : line.replace(/^(\S+)\s{2,}(.+)$/, '$1 ($2)')))
    .join(' ');
  return `${relevant}\nSee \`${['llava', ...commandWords()].join(' ')} --help\`.`;
}

/** The words of the command line that name the command being run (`images check`), from the built commands. */
function commandWords() {
  const words = [];
  for (const word of process.argv.slice(2)) {
    if (!/^[a-z][a-z-]*$/.test(word)) break;
    const path = [...words, word].join('/');
    const commands = new URL('../dist/commands/', import.meta.url);
    if (!existsSync(new URL(`${path}.js`, commands)) && !existsSync(new URL(path, commands))) break;
    words.push(word);
  }
  return words;
}
// A reader that closes standard output early (`llava … | head`) ends the run with one line and exit 1, never a
// stack. A command streaming its output through a llavakit sink listens too, and reports it itself (with --json).
process.stdout.on('error', (error) => {
  if (error?.code !== 'EPIPE') throw error;
  if (process.stdout[Symbol.for('llavakit.sink')]) return;
  process.stderr.write(
    'error  Cannot write standard output: the reading end of the pipe was closed (EPIPE).  [output/write-failed]\n',
  );
  process.exit(1);
});

try {
  await run(process.argv.slice(2), import.meta.url);
  await flush();
} catch (error) {
  // Every command-line parsing problem (unknown flag, missing argument, a value outside a flag's options) is a usage
  // error: exit 2. oclif gives some of them its default code instead.
  const usage =
    error &&
    typeof error === 'object' &&
    ('parse' in error || /^(command .+ not found|Flag --\S+ expects a value)/.test(String(error.message ?? '')));
  if (usage) {
    error.oclif = { ...(error.oclif ?? {}), exit: 2 };
  }
  if (usage && 'parse' in error) {
    error.message = oneLine(error);
    error.showHelp = false;
  }
  await handle(error);
}
