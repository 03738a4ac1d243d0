/**
 * Golden outputs of the lower commands (images check, stats, filter, dedup, mix, split, sample, prompts parse/build,
 * summaries merge) and of the library's validation diagnostics and their text rendering, byte for byte.
 *
 * Recorded from the code before the redesign of #13 (part 2) and kept so that the redesign changes nothing a user
 * sees. Inputs: the bundled sample, the prompts package's bundled fixtures, and small seeded files made by
 * `tools/datagen` (a 300-record mix665k-shaped file with an image folder holding missing and broken images, an
 * instruct150k-shaped file with its images in a zip, a llava-next JSONL file). Every case runs the real `llava`
 * process in a scratch folder with relative paths; timings are masked, nothing else is.
 *
 * `lower.golden.json` holds, per case, the exit code and sha256 + size of stdout, stderr and every output file, plus
 * the full text of the small ones (so that a failure shows a readable diff). Re-record (only when a change of
 * output is intended): `LLAVA_GOLDEN=update npx vitest run apps/cli/src/golden-lower/lower.test.ts`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DiagnosticError, renderReport } from '@llavakit/diagnostics';
import { readRecords } from '@llavakit/reader';
import { createValidator } from '@llavakit/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tempDir } from '../test-utils.js';

const here = dirname(fileURLToPath(import.meta.url));
const goldenPath = join(here, 'lower.golden.json');
const update = process.env.LLAVA_GOLDEN === 'update';
const datagen = join(repoRoot, 'tools/datagen/dist/cli.js');
const PROMPTS = join(repoRoot, 'packages/prompts/src/__fixtures__');
const MIX = join(repoRoot, 'packages/ops/src/__fixtures__/mix');
/** Outputs up to this size are kept in full in the golden file (for a readable diff). */
const FULL_TEXT_BYTES = 3000;

/** One recorded output: its hash and size, and its text when small. */
interface Blob {
  readonly sha256: string;
  readonly size: number;
  readonly text?: string;
}

/** One case's recorded outputs. */
interface Recorded {
  readonly code: number | null;
  readonly stdout: Blob;
  readonly stderr: Blob;
  readonly files: Record<string, Blob>;
}

/** A CLI run: its arguments (relative to the scratch folder) and the files it writes. */
interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly files?: readonly string[];
  /** Folders whose every file is an output. */
  readonly dirs?: readonly string[];
}

const ok = (id: string, content: string) =>
  JSON.stringify({
    id: `r-${id}`,
    custom_id: id,
    response: { status_code: 200, body: { choices: [{ message: { content } }] } },
    error: null,
  });

const coco = [
  '--coco-captions',
  `${PROMPTS}/coco/captions_mini2017.json`,
  '--coco-instances',
  `${PROMPTS}/coco/instances_mini2017.json`,
];

const CASES: readonly Case[] = [
  // images check: the bundled sample, a folder with missing/broken images, a zip, prefixes, bare names, errors
  {
    name: 'images-sample-json',
    args: ['images', 'check', 'sample/llava_sample.json', '-i', 'sample/images', '--json'],
  },
  { name: 'images-sample-text', args: ['images', 'check', 'sample/llava_sample.json', '-i', 'sample/images'] },
  {
    name: 'images-folder-json',
    args: ['images', 'check', 'mix.json', '-i', 'imgs', '--json', '--list-missing', 'missing.tsv'],
    files: ['missing.tsv'],
  },
  { name: 'images-folder-text', args: ['images', 'check', 'mix.json', '-i', 'imgs', '--max-per-rule', '3'] },
  { name: 'images-folder-text-all', args: ['images', 'check', 'mix.json', '-i', 'imgs', '--max-per-rule', '0'] },
  {
    name: 'images-folder-async-json',
    args: ['images', 'check', 'mix.json', '-i', 'imgs', '--io', 'async', '--workers', '0', '--json'],
  },
  { name: 'images-zip-json', args: ['images', 'check', 'instr.json', '-i', 'imgs.zip', '--json'] },
  { name: 'images-zip-text', args: ['images', 'check', 'instr.json', '-i', 'imgs.zip', '--strict'] },
  {
    name: 'images-prefixes-json',
    args: [
      'images',
      'check',
      'mix.json',
      '-i',
      'coco/train2017=imgs/coco/train2017',
      '-i',
      'gqa/images=imgs/gqa/images',
      '-i',
      'imgs',
      '--json',
    ],
  },
  {
    name: 'images-prefixes-text',
    args: ['images', 'check', 'mix.json', 'instr.json', '-i', 'coco/train2017=imgs/coco/train2017', '-i', 'imgs.zip'],
  },
  { name: 'images-broken-input', args: ['images', 'check', 'broken.json', '-i', 'imgs', '--json'] },
  { name: 'images-empty-source', args: ['images', 'check', 'mix.json', '-i', 'nowhere/'] },
  { name: 'images-usage-bad-spec', args: ['images', 'check', 'mix.json', '-i', 'coco='] },
  { name: 'images-usage-conflict', args: ['images', 'check', 'mix.json', '-i', 'imgs', '--list-missing', 'mix.json'] },
  {
    name: 'images-shard',
    args: ['images', 'check', 'mix.json', '-i', 'imgs', '--shard', '1/2', '--summary', 'img-{shard}.json'],
    files: ['img-00001.json'],
  },
  // stats
  { name: 'stats-json-no-tokens', args: ['stats', 'mix.json', 'next.jsonl', '--json', '--no-tokens'] },
  { name: 'stats-json-tokens-v1', args: ['stats', 'mix.json', '--json', '--template', 'v1'] },
  { name: 'stats-text', args: ['stats', 'mix.json', 'instr.json', '--html', 'stats.html'], files: ['stats.html'] },
  { name: 'stats-anyres', args: ['stats', 'mix.json', '--model', 'llava-next-anyres', '-i', 'imgs', '--json'] },
  { name: 'stats-broken', args: ['stats', 'broken.json', '--json', '--no-tokens'] },
  { name: 'stats-merge', args: ['stats', '--merge', 'mix.stats.json', 'instr.stats.json', '--json'] },
  { name: 'stats-merge-usage', args: ['stats', '--merge', 'mix.json'] },
  // filter
  {
    name: 'filter-tokens',
    args: [
      'filter',
      'mix.json',
      '-o',
      'fit.json',
      '--max-tokens',
      '700',
      '--template',
      'v1',
      '--rejects',
      'f.rej.jsonl',
      '--json',
    ],
    files: ['fit.json', 'f.rej.jsonl'],
  },
  {
    name: 'filter-stdout',
    args: ['filter', 'mix.json', '-o', '-', '--container', 'jsonl', '--has-image', '--source', 'coco', '--json'],
  },
  {
    name: 'filter-text',
    args: ['filter', 'instr.json', '-o', 'turns.jsonl', '--min-turns', '4'],
    files: ['turns.jsonl'],
  },
  { name: 'filter-usage', args: ['filter', 'mix.json', '-o', 'x.json', '--has-image', '--text-only'] },
  {
    name: 'filter-to-sharegpt',
    args: ['filter', 'sample/llava_sample.json', '-o', 'sg.json', '--to', 'sharegpt'],
    files: ['sg.json'],
  },
  // dedup
  {
    name: 'dedup-conversation',
    args: [
      'dedup',
      'mix.json',
      'mix.json',
      '--by',
      'conversation',
      '-o',
      'd.json',
      '--rejects',
      'd.rej.jsonl',
      '--json',
    ],
    files: ['d.json', 'd.rej.jsonl'],
  },
  {
    name: 'dedup-image-text',
    args: ['dedup', 'mix.json', 'next.jsonl', '--by', 'image', '-i', 'imgs', '-o', 'did.jsonl'],
    files: ['did.jsonl'],
  },
  { name: 'dedup-usage', args: ['dedup', 'mix.json', '--by', 'id', '-o', 'x.json'] },
  // mix
  { name: 'mix-ok', args: ['mix', 'mixfix/ok/recipe.yaml', '-o', 'mixed.json', '--json'], files: ['mixed.json'] },
  { name: 'mix-bad-strategy', args: ['mix', 'mixfix/bad-strategy/recipe.yaml', '-o', 'x.json'] },
  { name: 'mix-missing-file', args: ['mix', 'mixfix/missing-file/recipe.yaml', '-o', 'x.json'] },
  // split
  {
    name: 'split-by-source',
    args: [
      'split',
      'mix.json',
      '-o',
      'train.json',
      '--eval-output',
      'eval.json',
      '--eval',
      '0.1',
      '--by',
      'source',
      '--seed',
      '1',
      '--json',
    ],
    files: ['train.json', 'eval.json'],
  },
  {
    name: 'split-count-text',
    args: ['split', 'instr.json', '-o', 'tr.jsonl', '--eval-output', 'ev.jsonl', '--eval', '7'],
    files: ['tr.jsonl', 'ev.jsonl'],
  },
  // sample
  {
    name: 'sample-n',
    args: ['sample', 'mix.json', '-n', '20', '--seed', '4', '-o', 's.jsonl', '--json'],
    files: ['s.jsonl'],
  },
  {
    name: 'sample-fraction-text',
    args: ['sample', 'instr.json', '--fraction', '0.25', '--seed', '2', '-o', 'sf.json'],
    files: ['sf.json'],
  },
  { name: 'sample-usage', args: ['sample', 'mix.json', '-o', 'x.json'] },
  // prompts
  {
    name: 'prompts-build-coco',
    args: [
      'prompts',
      'build',
      '--prompts',
      `${PROMPTS}/prompts`,
      ...coco,
      '--model',
      'gpt-4o',
      '-o',
      'req',
      '--max-requests',
      '4',
      '--json',
    ],
    dirs: ['req'],
  },
  {
    name: 'prompts-build-caps',
    args: [
      'prompts',
      'build',
      '--prompts',
      `${PROMPTS}/prompts`,
      '--kind',
      'detail',
      '--caps-boxes',
      `${PROMPTS}/capsboxes.jsonl`,
      '--model',
      'm',
      '-o',
      'caps',
    ],
    dirs: ['caps'],
  },
  {
    name: 'prompts-build-broken',
    args: [
      'prompts',
      'build',
      '--prompts',
      `${PROMPTS}/broken/missing-pair/conversation`,
      ...coco,
      '--model',
      'm',
      '-o',
      'bx',
    ],
  },
  {
    name: 'prompts-build-usage',
    args: [
      'prompts',
      'build',
      '--prompts',
      `${PROMPTS}/prompts`,
      '--kind',
      'poems',
      ...coco,
      '--model',
      'm',
      '-o',
      'by',
    ],
  },
  {
    name: 'prompts-parse',
    args: [
      'prompts',
      'parse',
      'batch_output.jsonl',
      '--errors',
      'batch_errors.jsonl',
      '--manifest',
      'manifest.jsonl',
      '-o',
      'records.json',
      '--image-placement',
      'end',
    ],
    files: ['records.json'],
  },
  {
    name: 'prompts-parse-by-kind',
    args: [
      'prompts',
      'parse',
      'batch_output.jsonl',
      '--manifest',
      'manifest.jsonl',
      '-o',
      'by-kind',
      '--by-kind',
      '--json',
      '--seed',
      '3',
    ],
    dirs: ['by-kind'],
  },
  {
    name: 'prompts-parse-usage',
    args: ['prompts', 'parse', 'batch_output.jsonl', '-o', 'x.json', '--image-placement', 'middle'],
  },
  // summaries merge of the shards written above (run after them)
];

/** Cases run after every case above (they read what those wrote). */
const LATE_CASES: readonly Case[] = [
  { name: 'summaries-merge-images', args: ['summaries', 'merge', 'img-00001.json', '--json'] },
];

function mask(text: string, work: string): string {
  return text
    .replaceAll(work, '<work>')
    .replaceAll(repoRoot, '<repo>')
    .replace(/"(seconds|durationMs|ms)": [0-9.e+-]+/g, '"$1": 0')
    .replace(/\bin [0-9]+\.[0-9]+ ?s\b/g, 'in <time> s');
}

function blob(bytes: Buffer): Blob {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const text = bytes.toString('utf8');
  return bytes.length <= FULL_TEXT_BYTES && Buffer.from(text, 'utf8').equals(bytes)
    ? { sha256, size: bytes.length, text }
    : { sha256, size: bytes.length };
}

async function filesUnder(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

async function record(work: string, c: Case): Promise<Recorded> {
  const t0 = performance.now();
  const r = await runCli(c.args, { cwd: work });
  if (process.env.LLAVA_GOLDEN_TIMES) console.log(c.name, Math.round(performance.now() - t0));
  const files: Record<string, Blob> = {};
  const names = [...(c.files ?? [])];
  for (const d of c.dirs ?? []) names.push(...(await filesUnder(join(work, d))).map((f) => `${d}/${f}`));
  for (const name of names) {
    const path = join(work, name);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    files[name] = exists ? blob(Buffer.from(mask(await readFile(path, 'utf8'), work))) : { sha256: 'absent', size: -1 };
  }
  return {
    code: r.code,
    stdout: blob(Buffer.from(mask(r.stdout, work))),
    stderr: blob(Buffer.from(mask(r.stderr, work))),
    files,
  };
}

/** Run `tasks` at most `limit` at a time. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

/** Validation diagnostics (JSON lines) and their text report for one file, through the library. */
async function validationOf(path: string, file: string): Promise<{ json: string; text: string }> {
  const validator = createValidator({ file });
  const diagnostics = [];
  try {
    for await (const item of readRecords(path, { file })) {
      if (!item.ok) diagnostics.push(item.diagnostic);
      else diagnostics.push(...validator.check(item.value, item.place, item.text));
    }
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    diagnostics.push(error.diagnostic);
  }
  diagnostics.push(...validator.finish());
  return {
    json: diagnostics.map((d) => `${JSON.stringify(d)}\n`).join(''),
    text: renderReport(diagnostics) + renderReport(diagnostics, { maxPerRule: 2 }),
  };
}

describe('golden outputs of the lower commands (recorded before the #13 redesign)', () => {
  let work: string;
  let cleanup: () => Promise<void>;
  const actual: Record<string, Recorded> = {};
  let golden: Record<string, Recorded> = {};

  beforeAll(async () => {
    ({ dir: work, cleanup } = await tempDir('llava-golden-lower-'));
    const gen = (...args: string[]) => promisify(execFile)(process.execPath, [datagen, ...args], { cwd: work });
    await Promise.all([
      gen('mix665k', '-o', 'mix.json', '--records', '300', '--seed', '7', '-q'),
      gen('instruct150k', '-o', 'instr.json', '--records', '120', '--seed', '3', '--layout', 'lines', '-q'),
      gen('llava-next', '-o', 'next.jsonl', '--records', '80', '--seed', '5', '-q'),
      cp(join(repoRoot, 'examples/sample'), join(work, 'sample'), { recursive: true }),
      cp(MIX, join(work, 'mixfix'), { recursive: true }),
    ]);
    await Promise.all([
      gen('images', 'mix.json', '-o', 'imgs', '--missing', '0.15', '--broken', '3', '--seed', '7'),
      gen('images', 'instr.json', '--zip', 'imgs.zip', '--missing', '0.1', '--broken', '2', '--seed', '3'),
    ]);
    // a file whose JSON breaks after a few records, and a record with a trailing comma inside
    const mixText = await readFile(join(work, 'mix.json'), 'utf8');
    await writeFile(join(work, 'broken.json'), `${mixText.slice(0, 9000).replace(/"\n {2}\},/, '",\n  },')}`);
    await writeFile(
      join(work, 'batch_output.jsonl'),
      [
        ok('detail:7', 'A cat sleeps on a sill.\n\nA fern stands beside it.'),
        ok(
          'conversation:7',
          'Question:\nWhat animal?\n===\nAnswer:\nA cat.\n===\nQuestion:\nIs it awake?\n===\nAnswer:\nNo.',
        ),
        ok('complex_reasoning:7', 'Question:\nWhy is the cat there?\n===\nAnswer:\nThe sill is warm.'),
        ok('conversation:8', 'What animal? A cat.'),
      ].join('\n'),
    );
    await writeFile(
      join(work, 'batch_errors.jsonl'),
      `${JSON.stringify({ custom_id: 'detail:8', response: { status_code: 500, body: {} }, error: null })}\n`,
    );
    const entries = ['conversation', 'detail', 'complex_reasoning'].flatMap((kind) =>
      ['7', '8'].map((id) => ({ custom_id: `${kind}:${id}`, kind, id, image: `coco/${id}.jpg` })),
    );
    await writeFile(join(work, 'manifest.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n'));
    await mkdir(join(work, 'nowhere'));
    // stats results for --merge
    for (const [input, out] of [
      ['mix.json', 'mix.stats.json'],
      ['instr.json', 'instr.stats.json'],
    ] as const) {
      const r = await runCli(['stats', input, '--json', '--no-tokens'], { cwd: work });
      await writeFile(join(work, out), r.stdout);
    }
    const early = await pooled(
      CASES.map((c) => () => record(work, c)),
      3,
    );
    CASES.forEach((c, i) => {
      actual[c.name] = early[i]!;
    });
    for (const c of LATE_CASES) actual[c.name] = await record(work, c);
    for (const [name, path] of [
      ['validate-mix', 'mix.json'],
      ['validate-instr', 'instr.json'],
      ['validate-next', 'next.jsonl'],
      ['validate-broken', 'broken.json'],
    ] as const) {
      const { json, text } = await validationOf(join(work, path), path);
      actual[name] = {
        code: null,
        stdout: blob(Buffer.from(json)),
        stderr: blob(Buffer.from(text)),
        files: {},
      };
    }
    if (update) await writeFile(goldenPath, `${JSON.stringify(actual, null, 2)}\n`);
    golden = JSON.parse(await readFile(goldenPath, 'utf8')) as Record<string, Recorded>;
  }, 240_000);
  afterAll(() => cleanup?.());

  it('records exactly the cases of the golden file', () => {
    expect(Object.keys(actual).sort()).toEqual(Object.keys(golden).sort());
  });

  for (const name of [...CASES, ...LATE_CASES]
    .map((c) => c.name)
    .concat(['validate-mix', 'validate-instr', 'validate-next', 'validate-broken'])) {
    it(name, () => {
      expect(actual[name]).toEqual(golden[name]);
    });
  }
});
