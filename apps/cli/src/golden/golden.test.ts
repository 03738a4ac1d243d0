/**
 * The golden test: what `llava convert` and `llava validate` write, byte for byte, for the bundled sample and small
 * deterministic generated files of every kind, to every built-in format (and the Parquet plugin).
 *
 * The recording (`golden.json`: sha256 + size of every file each case writes, its exit code and its normalised
 * stdout) was made from the code before the redesign of issue #13; the redesign must leave it unchanged. The tiny
 * sample's outputs are kept whole under `sample/` so a failure shows a readable diff.
 *
 * Re-record (only when an output is meant to change, and say so in the commit):
 *   LLAVA_GOLDEN_RECORD=1 npx vitest run apps/cli/src/golden/golden.test.ts
 * New cases are recorded from the code before a change: LLAVA_GOLDEN_CLI_ROOT=<another checkout>/apps/cli runs that
 * checkout's built CLI instead (its outputs, with this checkout's inputs).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { generate, writeImageTree } from '@llavakit/datagen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRoot, repoRoot, tempDir } from '../test-utils.js';

const here = dirname(fileURLToPath(import.meta.url));
const goldenFile = join(here, 'golden.json');
const sampleCopies = join(here, '__fixtures__', 'sample');
const RECORD = process.env.LLAVA_GOLDEN_RECORD === '1';
const CLI_ROOT = process.env.LLAVA_GOLDEN_CLI_ROOT ?? cliRoot;

/** One recorded run: the arguments (with `{in}` = the inputs folder), and whether its files are kept whole. */
interface Case {
  name: string;
  args: string[];
  whole?: boolean;
}

/** What one case produced: exit code, normalised stdout, and every file it wrote. */
interface Outcome {
  code: number | null;
  stdout: { sha256: string; size: number };
  files: Record<string, { sha256: string; size: number }>;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Output formats: every format `llava formats` lists as writable (llava-qa reads only). */
const TO: { name: string; file: string; extra?: string[] }[] = [
  { name: 'llava', file: 'out.json' },
  { name: 'llava-normalize', file: 'out.json', extra: ['--to', 'llava', '--normalize'] },
  { name: 'sharegpt', file: 'out.json', extra: ['--to', 'sharegpt', '--dataset-info', '{out}/dataset_info.json'] },
  { name: 'openai', file: 'out.jsonl' },
  { name: 'messages', file: 'out.jsonl' },
  { name: 'swift', file: 'out.jsonl' },
  { name: 'parquet', file: 'out.parquet' },
];

/** Inputs: path (relative to the inputs folder or `{repo}`), image source, extra flags. */
const INPUTS: { name: string; path: string; images?: string; extra?: string[]; whole?: boolean }[] = [
  {
    name: 'sample',
    path: '{repo}/examples/sample/llava_sample.json',
    images: '{repo}/examples/sample/images',
    whole: true,
  },
  { name: 'instruct', path: 'instruct.json', images: 'instruct-images' },
  { name: 'mix', path: 'mix.json', images: 'mix-images' },
  { name: 'cc3m', path: 'cc3m-chat.json', images: 'cc3m-images.zip', extra: ['-m', '{in}/cc3m-meta.json'] },
  { name: 'blip', path: 'blip-chat.json', images: 'blip-images' },
  { name: 'next', path: 'next.jsonl' },
  { name: 'parquet', path: 'instruct.parquet' },
  { name: 'edge', path: 'edge.json', whole: true },
];

/** Hand-written records the generators do not make: system prompts (turn and key), integer ids, extra keys, image
 * lists, `<image>` at the end, tool roles, an empty conversation. */
const EDGE_RECORDS = [
  {
    id: 1,
    image: 'a.jpg',
    conversations: [
      { from: 'system', value: 'Be brief.' },
      { from: 'human', value: '<image>\nWhat is it?' },
      { from: 'gpt', value: 'A cat.' },
    ],
  },
  {
    id: 'k',
    system: 'You are a helpful assistant.',
    conversations: [
      { from: 'human', value: 'Hi' },
      { from: 'gpt', value: 'Hello.' },
    ],
  },
  {
    id: 'm',
    image: ['a.jpg', 'b.png'],
    conversations: [
      { from: 'human', value: 'Compare <image> and <image>.' },
      { from: 'gpt', value: 'Same.' },
    ],
    source: 'hand',
    score: 0.5,
  },
  {
    id: 'e',
    image: 'c.jpg',
    conversations: [
      { from: 'human', value: 'Describe.\n<image>' },
      { from: 'gpt', value: ' spaced  ' },
    ],
  },
  {
    id: 't',
    conversations: [
      { from: 'human', value: 'Weather?' },
      { from: 'function_call', value: '{"name":"w"}' },
      { from: 'observation', value: 'sunny' },
      { from: 'gpt', value: 'Sunny.' },
    ],
  },
  { id: 'z', conversations: [] },
  {
    id: 'w',
    image: 'd.jpg',
    conversations: [
      { from: 'human', value: 'No token here' },
      { from: 'gpt', value: 'ok' },
    ],
  },
];

/** The first LLaVA release's GPT-4 QA records (the llava-qa reader). */
const QA_RECORDS = [
  {
    id: '000000525439',
    image: 'COCO_val2014_000000525439.jpg',
    instruction: 'Where is the skateboard?',
    output: 'Upside down.',
    type: 'conv',
  },
  { id: 'sqa-12', instruction: 'Which of these is a mammal?', output: 'The whale.', type: 'conv' },
];

function inputPath(p: string): string {
  return p.startsWith('{repo}') ? p.replace('{repo}', repoRoot) : `{in}/${p}`;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const input of INPUTS) {
    const src = inputPath(input.path);
    for (const to of TO) {
      out.push({
        name: `convert-${input.name}-to-${to.name}`,
        args: [
          'convert',
          src,
          ...(to.extra ?? ['--to', to.name]),
          '-o',
          `{out}/${to.file}`,
          '--rejects',
          '{out}/rejects.jsonl',
          '--json',
          ...(input.extra ?? []),
        ],
        whole: input.whole && to.name !== 'parquet',
      });
    }
    out.push({ name: `validate-${input.name}`, args: ['validate', src, '--json'], whole: input.whole });
    if (input.images) {
      const img = inputPath(input.images);
      out.push({
        name: `convert-${input.name}-to-openai-embed`,
        args: [
          'convert',
          src,
          '--to',
          'openai',
          '--embed-images',
          '-i',
          img,
          '-o',
          '{out}/out.jsonl',
          '--rejects',
          '{out}/rejects.jsonl',
          '--json',
        ],
        whole: input.whole,
      });
      out.push({
        name: `convert-${input.name}-to-sharegpt-drop-missing`,
        args: [
          'convert',
          src,
          '--to',
          'sharegpt',
          '-i',
          img,
          '--missing-images',
          'drop',
          '-o',
          '{out}/out.json',
          '--rejects',
          '{out}/rejects.jsonl',
          '--json',
        ],
        whole: input.whole,
      });
    }
  }
  out.push(
    {
      name: 'convert-sample-to-messages-strip',
      args: [
        'convert',
        inputPath(INPUTS[0]!.path),
        '--to',
        'messages',
        '--image-token',
        'strip',
        '-o',
        '{out}/out.jsonl',
        '--json',
      ],
      whole: true,
    },
    {
      name: 'convert-sample-to-sharegpt-jsonl-relative',
      args: [
        'convert',
        inputPath(INPUTS[0]!.path),
        '--to',
        'sharegpt',
        '--container',
        'jsonl',
        '--image-paths',
        'prefix=/data/img',
        '-o',
        '{out}/out.jsonl',
        '--json',
      ],
      whole: true,
    },
    {
      name: 'convert-sample-to-parquet-folder',
      args: [
        'convert',
        inputPath(INPUTS[0]!.path),
        '--to',
        'parquet',
        '-i',
        `${repoRoot}/examples/sample/images`,
        '-o',
        '{out}/ds',
        '--json',
      ],
    },
    {
      name: 'convert-mix-to-messages-shard',
      args: [
        'convert',
        '{in}/mix.json',
        '--to',
        'messages',
        '--shard',
        '1/3',
        '-o',
        '{out}/part-{shard}-of-{shards}.jsonl',
        '--json',
      ],
    },
    {
      name: 'convert-mix-to-swift-fail',
      args: ['convert', '{in}/mix.json', '--to', 'swift', '--on-invalid', 'fail', '-o', '{out}/out.jsonl', '--json'],
    },
    {
      name: 'convert-parquet-extract',
      args: [
        'convert',
        '{in}/instruct.parquet',
        '--to',
        'llava',
        '--extract-images',
        '{out}/images',
        '-o',
        '{out}/out.json',
        '--json',
      ],
    },
    {
      name: 'convert-instruct-to-openai-meta',
      args: [
        'convert',
        '{in}/instruct.json',
        '--to',
        'openai',
        '-O',
        'meta=true',
        '-O',
        'max-images=1',
        '-o',
        '{out}/out.jsonl',
        '--rejects',
        '{out}/rejects.jsonl',
        '--json',
      ],
    },
    {
      name: 'convert-sharegpt-back-to-llava',
      args: ['convert', '{in}/mix.sharegpt.json', '--to', 'llava', '-o', '{out}/out.json', '--json'],
    },
    { name: 'validate-cc3m-meta', args: ['validate', '{in}/cc3m-meta.json', '--json'] },
    {
      name: 'convert-qa-to-llava',
      args: ['convert', '{in}/qa.jsonl', '--to', 'llava', '-o', '{out}/out.json', '--json'],
      whole: true,
    },
    {
      name: 'convert-edge-to-sharegpt-meta-off',
      args: [
        'convert',
        '{in}/edge.json',
        '--to',
        'sharegpt',
        '-O',
        'meta=false',
        '-o',
        '{out}/out.json',
        '--rejects',
        '{out}/rejects.jsonl',
        '--json',
      ],
      whole: true,
    },
    {
      name: 'convert-edge-to-messages-keep',
      args: [
        'convert',
        '{in}/edge.json',
        '--to',
        'messages',
        '--image-token',
        'keep',
        '-o',
        '{out}/out.jsonl',
        '--rejects',
        '{out}/rejects.jsonl',
        '--json',
      ],
      whole: true,
    },
    {
      name: 'convert-edge-to-openai-strip',
      args: [
        'convert',
        '{in}/edge.json',
        '--to',
        'openai',
        '--image-token',
        'strip',
        '-O',
        'meta=true',
        '-o',
        '{out}/out.jsonl',
        '--rejects',
        '{out}/rejects.jsonl',
        '--json',
      ],
      whole: true,
    },
    {
      name: 'convert-edge-to-sharegpt-messages-layout',
      args: [
        'convert',
        '{in}/edge.json',
        '--to',
        'sharegpt',
        '-O',
        'layout=messages',
        '--dataset-info',
        '{out}/dataset_info.json',
        '-o',
        '{out}/out.json',
        '--rejects',
        '{out}/rejects.jsonl',
        '--json',
      ],
      whole: true,
    },
  );
  return out;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

/**
 * Runs `llava` command lines in `threads` worker threads (run-worker.mjs), each list in order; returns each line's
 * exit code and stdout, in the order given.
 */
async function runAll(runs: readonly string[][], threads: number): Promise<{ code: number; stdout: string }[]> {
  const lists: number[][] = Array.from({ length: Math.min(threads, runs.length) }, () => []);
  for (let i = 0; i < runs.length; i++) lists[i % lists.length]!.push(i);
  const results: { code: number; stdout: string }[] = new Array(runs.length);
  await Promise.all(
    lists.map(
      (list) =>
        new Promise<void>((resolveList, reject) => {
          const worker = new Worker(new URL('./run-worker.mjs', import.meta.url), {
            workerData: { cliRoot: CLI_ROOT, runs: list.map((i) => runs[i]) },
            stdout: true,
            stderr: true,
          });
          worker.once('message', (r: { code: number; stdout: string }[]) => {
            r.forEach((one, k) => {
              results[list[k]!] = one;
            });
            resolveList();
          });
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (results[list[0]!] === undefined) reject(new Error(`golden worker exited with ${code}`));
          });
        }),
    ),
  );
  return results;
}

let root = '';
let cleanup: () => Promise<void> = async () => {};
const outcomes = new Map<string, Outcome>();
const wholeFiles = new Map<string, Map<string, string>>();

function normalise(text: string): string {
  return text
    .split(root)
    .join('<tmp>')
    .split(repoRoot)
    .join('<repo>')
    .replace(/"durationMs":\s*[0-9.e+-]+/g, '"durationMs": 0');
}

/** The same for a file's bytes (read as latin1 so any byte survives the round trip). */
function normaliseBytes(bytes: Buffer): Buffer {
  return Buffer.from(normalise(bytes.toString('latin1')), 'latin1');
}

function caseDir(c: Case): string {
  return join(root, 'cases', c.name);
}

async function collect(c: Case, r: { code: number; stdout: string }): Promise<void> {
  const dir = caseDir(c);
  const stdout = normalise(r.stdout);
  const files: Outcome['files'] = {};
  const whole = new Map<string, string>();
  whole.set('_stdout', stdout);
  whole.set('_code', String(r.code));
  for (const f of await listFiles(dir)) {
    // Absolute paths (file: URLs, --image-paths absolute) name the temp folder and the checkout: replaced by markers.
    const bytes = normaliseBytes(await readFile(join(dir, f)));
    files[f] = { sha256: sha(bytes), size: bytes.length };
    if (c.whole) whole.set(f, bytes.toString('utf8'));
  }
  outcomes.set(c.name, { code: r.code, stdout: { sha256: sha(stdout), size: Buffer.byteLength(stdout) }, files });
  if (c.whole) wholeFiles.set(c.name, whole);
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('llava-golden-'));
  const inDir = join(root, 'in');
  await mkdir(inDir, { recursive: true });
  const seed = 7;
  await generate('instruct150k', { out: join(inDir, 'instruct.json'), records: 40, seed });
  await generate('mix665k', { out: join(inDir, 'mix.json'), records: 80, seed });
  await generate('cc3m-chat', { out: join(inDir, 'cc3m-chat.json'), records: 40, seed });
  await generate('cc3m-meta', { out: join(inDir, 'cc3m-meta.json'), records: 40, seed });
  await generate('blip558k-chat', { out: join(inDir, 'blip-chat.json'), records: 40, seed });
  await generate('llava-next', { out: join(inDir, 'next.jsonl'), records: 30, seed });
  await writeFile(join(inDir, 'edge.json'), `${JSON.stringify(EDGE_RECORDS, null, 2)}\n`);
  await writeFile(join(inDir, 'qa.jsonl'), `${QA_RECORDS.map((r) => JSON.stringify(r)).join('\n')}\n`);
  await writeImageTree({
    dataset: join(inDir, 'instruct.json'),
    dir: join(inDir, 'instruct-images'),
    missing: 0.2,
    broken: 1,
    seed,
  });
  await writeImageTree({
    dataset: join(inDir, 'mix.json'),
    dir: join(inDir, 'mix-images'),
    missing: 0.1,
    broken: 2,
    seed,
  });
  await writeImageTree({ dataset: join(inDir, 'cc3m-chat.json'), zip: join(inDir, 'cc3m-images.zip'), seed });
  await writeImageTree({ dataset: join(inDir, 'blip-chat.json'), dir: join(inDir, 'blip-images'), missing: 0.1, seed });
  // Derived inputs, made by the CLI itself (their bytes are checked by the cases below through their outputs).
  const made = await runAll(
    [
      [
        'convert',
        `${inDir}/instruct.json`,
        '--to',
        'parquet',
        '-i',
        `${inDir}/instruct-images`,
        '-o',
        `${inDir}/instruct.parquet`,
        '-q',
      ],
      ['convert', `${inDir}/mix.json`, '--to', 'sharegpt', '-o', `${inDir}/mix.sharegpt.json`, '-q'],
    ],
    2,
  );
  expect(made.map((r) => r.code)).toEqual([0, 0]);
  const all = cases();
  for (const c of all) await mkdir(caseDir(c), { recursive: true });
  // Paths are absolute ({out} = the case's folder): threads share one working folder.
  const results = await runAll(
    all.map((c) => c.args.map((a) => a.replaceAll('{in}', inDir).replaceAll('{out}', caseDir(c)))),
    3,
  );
  for (const [i, c] of all.entries()) await collect(c, results[i]!);
}, 300_000);

afterAll(async () => {
  await cleanup();
});

describe('golden: convert and validate outputs are unchanged', () => {
  it('every case writes the recorded bytes (sha256 + size of every file, exit code, --json summary)', async () => {
    const actual = Object.fromEntries([...outcomes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    if (RECORD) {
      await writeFile(goldenFile, `${JSON.stringify(actual, null, 2)}\n`);
      await rm(sampleCopies, { recursive: true, force: true });
      for (const [name, files] of wholeFiles) {
        for (const [f, text] of files) {
          const p = join(sampleCopies, name, f);
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, text);
        }
      }
      return;
    }
    const recorded = JSON.parse(await readFile(goldenFile, 'utf8')) as Record<string, Outcome>;
    // Whole copies first, so a change shows as a text diff.
    for (const [name, files] of wholeFiles) {
      for (const [f, text] of files) {
        const p = join(sampleCopies, name, f);
        expect(existsSync(p), `${name}/${f} was not recorded`).toBe(true);
        expect(text, `${name}/${f}`).toBe(await readFile(p, 'utf8'));
      }
    }
    expect(actual).toEqual(recorded);
  });

  it('covers every writable format and every input kind', () => {
    const names = [...outcomes.keys()];
    for (const to of TO) for (const input of INPUTS) expect(names).toContain(`convert-${input.name}-to-${to.name}`);
    // A case that wrote nothing cannot guard anything: most cases write an output file.
    const wrote = [...outcomes.values()].filter((o) => Object.keys(o.files).length > 0).length;
    expect(wrote).toBeGreaterThan(outcomes.size * 0.8);
  });
});
