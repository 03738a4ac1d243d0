#!/usr/bin/env node
import { flush, handle, run, settings } from '@oclif/core';

settings.enableAutoTranspile = false;

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
