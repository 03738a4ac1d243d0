/**
 * The llavakit benchmark cases: command lines with targets. Adjust command lines here when the CLI changes.
 */
import type { BenchCase, BenchContext } from './harness.js';

const LLAVA = 'apps/cli/bin/run.js';
const RSS_LIMIT_MIB = 200;
/**
 * `images check` keeps every distinct image path (to check each once and count every reference) and the folder
 * listing or zip index it looks them up in, so its memory grows with the dataset: for CC-3M's 595K paths and 506K
 * files it measured 370–430 MiB. The bound is there to catch regressions, not a streaming promise.
 */
const IMAGES_RSS_LIMIT_MIB = 512;
/** Peak RSS bound of the data-prep operations (issue 15). */
const OPS_RSS_LIMIT_MIB = 250;
/** oclif exits 1 with this when a command does not exist yet. */
const NOT_FOUND = /command \S+ not found/i;

/** The DuckDB baselines (`@duckdb/node-api`, a dependency of this package) are run from the built script. */
const DUCKDB = 'tools/datagen/dist/duckdb-baseline.js';
/** The orjson baselines run only where Python has orjson. */
const ORJSON = {
  command: ['python3', '-c', 'import orjson'],
  reason: 'python3 cannot import orjson (pip install orjson to add this baseline)',
};

/** `llava convert` of a kind to a format, with the bench's `--workers` (or one thread). */
function convert(ctx: BenchContext, kind: 'instruct150k' | 'mix665k', to: string, workers = ctx.workers): string[] {
  const out = ctx.out(`${kind}.${to}${workers === 1 ? '.1w' : ''}.json`);
  return ['node', LLAVA, 'convert', ctx.file(kind), '--to', to, '-o', out, '--workers', String(workers)];
}

/** The same conversion in one thread (`--workers 1`): what the worker threads gain. */
function oneThread(kind: 'instruct150k' | 'mix665k', size: string): BenchCase {
  return {
    name: `convert-sharegpt-${size}-1w`,
    description: `llava convert ${kind === 'mix665k' ? 'llava_v1_5_mix665k.json' : 'llava_instruct_150k.json'} --to sharegpt --workers 1 (one thread)`,
    needs: [{ kind }],
    command: (ctx) => convert(ctx, kind, 'sharegpt', 1),
    targets: [{ metric: 'rss', max: RSS_LIMIT_MIB }],
  };
}

/** Converting the 150K file to each other writer format: ≤ 1.2× the ShareGPT conversion. */
const otherWriters: BenchCase[] = ['openai', 'messages', 'swift', 'llava'].map((to) => ({
  name: `convert-${to}-150k`,
  description: `llava convert llava_instruct_150k.json --to ${to}`,
  needs: [{ kind: 'instruct150k' }],
  command: (ctx) => convert(ctx, 'instruct150k', to),
  targets: [
    { metric: 'wall', max: 1.2, relativeTo: 'convert-sharegpt-150k' },
    { metric: 'rss', max: RSS_LIMIT_MIB },
  ],
}));

/** Default case list (order matters only for display; relative targets look cases up by name). */
export const DEFAULT_CASES: BenchCase[] = [
  {
    name: 'convert-sharegpt-150k',
    description: 'llava convert llava_instruct_150k.json --to sharegpt (streaming, --workers N)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => convert(ctx, 'instruct150k', 'sharegpt'),
    targets: [
      { metric: 'wall', max: 0.5, relativeTo: 'python-sharegpt-150k' },
      { metric: 'wall', max: 0.9, relativeTo: 'node-jsonparse-150k' },
      { metric: 'wall', max: 0.5, relativeTo: 'duckdb-json-150k' },
      { metric: 'wall', max: 0.5, relativeTo: 'orjson-sharegpt-150k' },
      { metric: 'rss', max: RSS_LIMIT_MIB },
    ],
  },
  oneThread('instruct150k', '150k'),
  {
    name: 'duckdb-json-150k',
    description: 'baseline: DuckDB read_json → COPY … TO … (FORMAT json, ARRAY true) (all cores)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => ['node', DUCKDB, 'json', ctx.file('instruct150k'), ctx.out('instruct150k.duckdb.json')],
  },
  {
    name: 'node-workers-sharegpt-150k',
    description: 'ceiling: hand-written worker_threads split, parse + map + stringify, no checks (all cores)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => [
      'node',
      ctx.script('node-workers.mjs'),
      ctx.file('instruct150k'),
      ctx.out('instruct150k.workers.json'),
    ],
  },
  {
    name: 'node-copy-150k',
    description: 'floor: element bytes passed through unchanged by the byte splitter (no parse, no stringify)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => [
      'node',
      ctx.script('node-workers.mjs'),
      ctx.file('instruct150k'),
      ctx.out('instruct150k.copy.json'),
      '1',
      'copy',
    ],
  },
  {
    name: 'orjson-sharegpt-150k',
    description: 'baseline: python3 orjson.loads + map + orjson.dumps',
    needs: [{ kind: 'instruct150k' }],
    requires: ORJSON,
    command: (ctx) => [
      'python3',
      ctx.script('python-orjson.py'),
      ctx.file('instruct150k'),
      ctx.out('instruct150k.orjson.json'),
    ],
  },
  {
    name: 'python-sharegpt-150k',
    description: 'baseline: python3 json.load + map + json.dump(ensure_ascii=False)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => [
      'python3',
      ctx.script('python-baseline.py'),
      ctx.file('instruct150k'),
      ctx.out('instruct150k.python.json'),
    ],
  },
  {
    name: 'node-jsonparse-150k',
    description: 'baseline: node JSON.parse(readFileSync) + map + JSON.stringify + writeFileSync',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => [
      'node',
      ctx.script('node-baseline.mjs'),
      ctx.file('instruct150k'),
      ctx.out('instruct150k.node.json'),
    ],
  },
  {
    name: 'validate-150k',
    description: 'llava validate llava_instruct_150k.json (as users run it: one thread, the default of validate)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => ['node', LLAVA, 'validate', ctx.file('instruct150k')],
    acceptExit: [0, 1],
    failOnStderr: NOT_FOUND,
    targets: [
      { metric: 'wall', max: 1.3, relativeTo: 'convert-sharegpt-150k' },
      { metric: 'wall', max: 0.4, relativeTo: 'duckdb-json-150k' },
      { metric: 'rss', max: RSS_LIMIT_MIB },
    ],
  },
  {
    name: 'validate-150k-2w',
    description: 'llava validate llava_instruct_150k.json --workers N (the per-record checks in worker threads)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => ['node', LLAVA, 'validate', ctx.file('instruct150k'), '--workers', String(ctx.workers)],
    acceptExit: [0, 1],
    failOnStderr: NOT_FOUND,
    targets: [{ metric: 'rss', max: RSS_LIMIT_MIB }],
  },
  {
    name: 'stats-150k',
    description: 'llava stats llava_instruct_150k.json --json (LLaMA token counts, --workers N)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => ['node', LLAVA, 'stats', ctx.file('instruct150k'), '--json', '--workers', String(ctx.workers)],
    targets: [
      { metric: 'wall', max: 0.7, relativeTo: 'stats-150k-1w' },
      { metric: 'rss', max: RSS_LIMIT_MIB },
    ],
  },
  {
    name: 'stats-150k-1w',
    description: 'llava stats llava_instruct_150k.json --json --workers 1 (one thread)',
    needs: [{ kind: 'instruct150k' }],
    command: (ctx) => ['node', LLAVA, 'stats', ctx.file('instruct150k'), '--json', '--workers', '1'],
    targets: [{ metric: 'rss', max: RSS_LIMIT_MIB }],
  },
  ...otherWriters,
  {
    name: 'validate-665k',
    description: 'llava validate llava_v1_5_mix665k.json (1 GB, one thread: the default of validate)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', LLAVA, 'validate', ctx.file('mix665k')],
    acceptExit: [0, 1],
    failOnStderr: NOT_FOUND,
    targets: [{ metric: 'rss', max: RSS_LIMIT_MIB }],
  },
  {
    name: 'validate-665k-2w',
    description: 'llava validate llava_v1_5_mix665k.json (1 GB, --workers N)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', LLAVA, 'validate', ctx.file('mix665k'), '--workers', String(ctx.workers)],
    acceptExit: [0, 1],
    failOnStderr: NOT_FOUND,
    targets: [{ metric: 'rss', max: RSS_LIMIT_MIB }],
  },
  {
    name: 'convert-sharegpt-665k',
    description: 'llava convert llava_v1_5_mix665k.json --to sharegpt (1 GB, --workers N)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => convert(ctx, 'mix665k', 'sharegpt'),
    targets: [
      { metric: 'wall', max: 0.5, relativeTo: 'duckdb-json-665k' },
      { metric: 'wall', max: 0.5, relativeTo: 'orjson-sharegpt-665k' },
      { metric: 'rss', max: RSS_LIMIT_MIB },
    ],
  },
  oneThread('mix665k', '665k'),
  {
    name: 'duckdb-json-665k',
    description: 'baseline: DuckDB read_json → COPY … (FORMAT json, ARRAY true) of the 1 GB mix (all cores)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', DUCKDB, 'json', ctx.file('mix665k'), ctx.out('mix665k.duckdb.json')],
  },
  {
    name: 'node-workers-sharegpt-665k',
    description: 'ceiling: hand-written worker_threads split of the 1 GB mix, no checks (all cores)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', ctx.script('node-workers.mjs'), ctx.file('mix665k'), ctx.out('mix665k.workers.json')],
  },
  {
    name: 'orjson-sharegpt-665k',
    description: 'baseline: python3 orjson.loads + map + orjson.dumps of the 1 GB mix',
    needs: [{ kind: 'mix665k' }],
    requires: ORJSON,
    command: (ctx) => ['python3', ctx.script('python-orjson.py'), ctx.file('mix665k'), ctx.out('mix665k.orjson.json')],
  },
  {
    name: 'python-sharegpt-665k',
    description: 'baseline: python3 json.load of the 1 GB mix (information only)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => [
      'python3',
      ctx.script('python-baseline.py'),
      ctx.file('mix665k'),
      ctx.out('mix665k.python.json'),
    ],
  },
  {
    name: 'node-jsonparse-665k',
    description: 'baseline: node JSON.parse of the 1 GB mix (expected to fail: string longer than V8 allows)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', ctx.script('node-baseline.mjs'), ctx.file('mix665k'), ctx.out('mix665k.node.json')],
  },
  imagesCheck(
    'images-check-cc3m',
    'folder',
    'llava images check of CC3M chat.json (595,375 references, 15% missing), warm',
  ),
  imagesCheck(
    'images-check-cc3m-zip',
    'zip',
    'llava images check of CC3M chat.json against its images.zip (506,051 entries), read in place, warm',
  ),
  // Data-prep operations (@llavakit/ops) on the 1 GB file, against Python json.load computing the same counts.
  {
    name: 'stats-665k',
    description: 'llava stats llava_v1_5_mix665k.json --no-tokens --json (1 GB; the counts the Python baseline makes)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', LLAVA, 'stats', ctx.file('mix665k'), '--no-tokens', '--json'],
    targets: [
      { metric: 'wall', max: 0.5, relativeTo: 'python-stats-665k' },
      { metric: 'rss', max: OPS_RSS_LIMIT_MIB },
    ],
  },
  {
    name: 'stats-tokens-665k',
    description: 'llava stats llava_v1_5_mix665k.json --template v1 --json (1 GB, with LLaMA token counts)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['node', LLAVA, 'stats', ctx.file('mix665k'), '--template', 'v1', '--json'],
    targets: [{ metric: 'rss', max: OPS_RSS_LIMIT_MIB }],
  },
  {
    name: 'python-stats-665k',
    description: 'baseline: python3 json.load + the counts of llava stats (no tokens)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['python3', ctx.script('python-stats.py'), ctx.file('mix665k')],
  },
  {
    name: 'dedup-665k',
    description: 'llava dedup llava_v1_5_mix665k.json --by conversation (1 GB, one pass, writes the output)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => [
      'node',
      LLAVA,
      'dedup',
      ctx.file('mix665k'),
      '--by',
      'conversation',
      '-o',
      ctx.out('mix665k.dedup.json'),
      '--json',
    ],
    targets: [
      { metric: 'wall', max: 0.5, relativeTo: 'python-dedup-665k' },
      { metric: 'rss', max: OPS_RSS_LIMIT_MIB },
    ],
  },
  {
    name: 'python-dedup-665k',
    description: 'baseline: python3 json.load + duplicate groups by normalised conversation (counts only, no output)',
    needs: [{ kind: 'mix665k' }],
    command: (ctx) => ['python3', ctx.script('python-dedup.py'), ctx.file('mix665k')],
  },
];

/** `llava images check` of the CC-3M chat file against its images, as a folder or as the zip CC-3M ships. */
function imagesCheck(name: string, as: 'folder' | 'zip', description: string): BenchCase {
  return {
    name,
    description,
    needs: [as === 'zip' ? { kind: 'cc3m-chat', imagesZip: true } : { kind: 'cc3m-chat', images: true }],
    command: (ctx) => [
      'node',
      LLAVA,
      'images',
      'check',
      ctx.file('cc3m-chat'),
      '-i',
      as === 'zip' ? ctx.imagesZip('cc3m-chat') : ctx.images('cc3m-chat'),
    ],
    acceptExit: [0, 1],
    failOnStderr: NOT_FOUND,
    warmup: true,
    targets: [
      { metric: 'wall', max: 10 },
      { metric: 'rss', max: IMAGES_RSS_LIMIT_MIB },
    ],
  };
}
