import { Flags } from '@oclif/core';

/** The `--workers` flag of `llava convert` (the parallel pipeline of `runConvert`). */
export const workersFlag = Flags.integer({
  min: 1,
  summary:
    'Worker threads that parse, check and encode (default: the available parallelism, for files of 8 MiB or more); 1 = this thread only.',
  description:
    'The output is the same bytes whatever the number, with rejects and diagnostics in the same order. Image checks, rewriting and embedding, --metadata, stream-level formats and plugins loaded through oclif run in one thread (said once on stderr).',
});

/** `llava validate --workers` (the parallel path of `validateFiles`): one thread unless asked. */
export const validateWorkersFlag = Flags.integer({
  min: 1,
  summary:
    'Worker threads that parse and check the records (default 1: this thread); the same diagnostics, in the same order.',
  description:
    'Duplicate ids, id types and image path forms are checked on the main thread in input order. Stream-level formats and plugins loaded through oclif are checked in one thread (said once on stderr).',
});

/** `llava stats --workers` (the worker threads of `computeStats`). */
export const statsWorkersFlag = Flags.integer({
  min: 1,
  summary:
    'Worker threads that parse, decode and count tokens (default: the available parallelism, for files of 8 MiB or more); 1 = this thread only.',
  description:
    'The result is the same whatever the number: duplicates are counted over the whole input on the main thread. Stream-level formats, the AnyRes presets (image sizes) and plugins loaded through oclif are counted in one thread (said once on stderr).',
});
