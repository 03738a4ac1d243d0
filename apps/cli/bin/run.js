#!/usr/bin/env node
import { flush, handle, run, settings } from '@oclif/core';

settings.enableAutoTranspile = false;

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
    ('parse' in error || /^command .+ not found/.test(String(error.message ?? '')));
  if (usage) {
    error.oclif = { ...(error.oclif ?? {}), exit: 2 };
  }
  await handle(error);
}
