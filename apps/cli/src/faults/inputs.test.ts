import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, runCli, tempDir } from '../test-utils.js';
import { finished, isRoot, record, STACK, spawnCli, writeRecords } from './fixtures/helpers.js';

/**
 * Inputs and options a new user tries, through the real CLI: every layout that is not supported gets its rule and
 * place; FIFOs, process substitution and standard input are read once and work; unknown -O names and --from
 * formats are usage errors that say what exists; lone surrogates are rejected with their place and pointer.
 */
let dir: string;
let cleanup: () => Promise<void>;
let input: string;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('llava-faults-in-'));
  input = await writeRecords(join(dir, 'in.json'), 6);
});
afterAll(() => cleanup());

describe('options and format names', () => {
  it('an unknown -O name is a usage error listing the options of the format', async () => {
    const result = await runCli(['convert', input, '--to', 'sharegpt', '-O', 'bogus=1', '-o', join(dir, 'x.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /Unknown option "bogus" \(-O\)\. Options of sharegpt: .*image-token.*\[options\/unknown\]/,
    );
  });

  it('a bad value names the option as typed (image-token, not imageToken)', async () => {
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-O',
      'image-token=zz',
      '-o',
      join(dir, 'x.json'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /Invalid value for option image-token of the output format "sharegpt".*\[options\/invalid\]/,
    );
    expect(result.stderr).not.toContain('imageToken');
  });

  it('an unknown --from exits 2 like an unknown --to, listing the formats', async () => {
    for (const flag of ['--from', '--to']) {
      const args = flag === '--from' ? ['--from', 'nope', '--to', 'sharegpt'] : ['--to', 'nope'];
      const result = await runCli(['convert', input, ...args, '-o', join(dir, 'x.json')]);
      expect(result.code, flag).toBe(2);
      expect(result.stderr).toMatch(/No format named "nope"\. Known: llava, .*\[format\/unknown\]/);
    }
  });

  it('-O values are coerced to the option type (layout=messages, id-field=false) and reach the writer', async () => {
    const out = join(dir, 'coerced.json');
    const result = await runCli([
      'convert',
      input,
      '--to',
      'sharegpt',
      '-O',
      'layout=messages',
      '-O',
      'id-field=false',
      '-o',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const [first] = JSON.parse(await readFile(out, 'utf8'));
    expect(first).toHaveProperty('messages');
    expect(first).not.toHaveProperty('id');
  });
});

describe('inputs that are not a supported layout get the right message', () => {
  it('records wrapped in one object ({"data": [...]}, on one line or pretty-printed)', async () => {
    const wrapped = { data: [record('a'), record('b')] };
    for (const [name, text] of [
      ['one-line.json', JSON.stringify(wrapped)],
      ['pretty.json', JSON.stringify(wrapped, null, 2)],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, text);
      const result = await runCli(['convert', path, '--to', 'sharegpt', '-o', join(dir, `${name}.out`)]);
      expect(result.code, name).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`${name}:1:1.*\\[json/not-array\\]`));
      if (name === 'one-line.json') expect(result.stderr).toContain('2 records under "data"');
      expect(result.stderr).not.toMatch(STACK);
    }
  });

  it('a directory says so', async () => {
    await mkdir(join(dir, 'a-folder'), { recursive: true });
    const result = await runCli(['convert', join(dir, 'a-folder'), '--to', 'sharegpt', '-o', join(dir, 'f.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/a-folder .*directory.*\[input\/is-directory\]/);
  });

  it.skipIf(isRoot)(
    `an unreadable file${isRoot ? ' (skipped: root reads files whatever their mode)' : ''}`,
    async () => {
      const path = join(dir, 'locked.json');
      await writeFile(path, '[]');
      await chmod(path, 0);
      const result = await runCli(['convert', path, '--to', 'sharegpt', '--from', 'llava', '-o', join(dir, 'l.json')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/locked\.json .*\[input\/unreadable\]/);
    },
  );

  it('a FIFO is read once: the format is detected from its buffered head', async () => {
    const fifo = join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawnCli(['convert', fifo, '--to', 'sharegpt', '-o', join(dir, 'fifo.json'), '--json']);
    const done = finished(child);
    const feed = createWriteStream(fifo);
    feed.end(await readFile(input));
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ from: ['llava'], read: 6, written: 6 });
  });

  it('validate reads a FIFO once too', async () => {
    const fifo = join(dir, 'validate.fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawnCli(['validate', fifo]);
    const done = finished(child);
    createWriteStream(fifo).end(await readFile(input));
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(/OK: checked 6 records/);
  });

  it('<(…) process substitution works like a file', async () => {
    const out = join(dir, 'subst.json');
    const run = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" "${binPath}" convert <(cat "${input}") --to sharegpt -o "${out}" --json`],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ read: 6, written: 6 });
  });

  /** Run the CLI from bash with the input given as `<(cat in.json)` (the `/dev/fd/N` of a pipe). */
  const substituted = (args: (input: string) => string[]) => {
    const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
    const line = [process.execPath, binPath, ...args('\0')]
      .map((a) => (a === '\0' ? `<(cat ${quote(input)})` : quote(a)))
      .join(' ');
    const run = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  // Every command that reads records, fed a named FIFO (its writer sends once, then closes) and `<(…)`: the input is
  // opened once (detection reads the same bytes), all 6 records are seen, nothing waits for a second writer; the
  // commands that read their inputs twice refuse both before reading, as usage errors.
  const once: readonly (readonly [string, (input: string) => string[], RegExp | object])[] = [
    ['stats', (i) => ['stats', i, '--json'], { records: 6 }],
    [
      'filter',
      (i) => ['filter', i, '--has-image', '-o', join(dir, 'once-filter.json'), '--json'],
      { read: 6, written: 6 },
    ],
    ['dedup', (i) => ['dedup', i, '-o', join(dir, 'once-dedup.json'), '--json'], { read: 6, written: 6 }],
    ['render', (i) => ['render', i, '--template', 'vicuna_v1'], /record 5/],
    ['validate --workers 2', (i) => ['validate', i, '--workers', '2'], /OK: checked 6 records/],
    [
      'convert --to parquet',
      (i) => ['convert', i, '--to', 'parquet', '-o', join(dir, 'once.parquet'), '--json'],
      { read: 6, written: 6 },
    ],
  ];
  for (const [name, args, expected] of once) {
    it(`${name} reads a FIFO and <(…) once, every record`, async () => {
      const fifo = join(dir, `once-${name.replace(/\W+/g, '-')}.fifo`);
      execFileSync('mkfifo', [fifo]);
      const child = spawnCli(args(fifo));
      const done = finished(child);
      createWriteStream(fifo).end(await readFile(input));
      const fromFifo = await done;
      const fromSubst = substituted(args);
      for (const result of [fromFifo, fromSubst]) {
        expect(result.code, result.stderr).toBe(0);
        if (expected instanceof RegExp) expect(result.stdout + result.stderr).toMatch(expected);
        else expect(JSON.parse(result.stdout)).toMatchObject(expected);
        expect(result.stdout + result.stderr).not.toMatch(STACK);
      }
    });
  }

  it('sample and split (which read their inputs twice) refuse a FIFO and <(…) before reading: usage, exit 2', async () => {
    for (const args of [
      (i: string) => ['sample', i, '-n', '2', '-o', join(dir, 'twice.json')],
      (i: string) => [
        'split',
        i,
        '--eval',
        '2',
        '--eval-output',
        join(dir, 'eval.json'),
        '-o',
        join(dir, 'train.json'),
      ],
    ]) {
      const fifo = join(dir, `twice-${args('x')[0]}.fifo`);
      execFileSync('mkfifo', [fifo]);
      const result = await runCli(args(fifo));
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/reads its inputs twice.*FIFO, pipe or device.*\[usage\/ops\]/s);
      const piped = substituted(args);
      expect(piped.code, piped.stderr).toBe(2);
      expect(piped.stderr).toMatch(/\/dev\/fd\/\d+: a FIFO, pipe or device/);
    }
  });

  it('standard input works, and an empty one says it is empty', async () => {
    const piped = await runCli(['convert', '-', '--to', 'sharegpt', '-o', join(dir, 'stdin.json'), '--json'], {
      input: await readFile(input),
    });
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ read: 6, written: 6 });
    const empty = await runCli(['convert', '-', '--to', 'sharegpt', '-o', join(dir, 'empty.json')], { input: '' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/\[input\/empty\]/);
  });
});

describe('text Python cannot encode', () => {
  it('a lone surrogate (\\ud800 escape) rejects the record with its place and JSON pointer', async () => {
    const path = join(dir, 'surrogate.json');
    // Escapes as they appear in files: a lone high surrogate, a lone low one, and a proper pair (kept).
    await writeFile(
      path,
      `[\n${JSON.stringify(record('ok'))},\n` +
        `{"id": "lone", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "bad \\ud800 here"}]},\n` +
        `{"id": "low", "image": "x\\udc00.jpg", "conversations": [{"from": "human", "value": "<image>\\nHi"}, {"from": "gpt", "value": "Yo"}]},\n` +
        `{"id": "pair", "conversations": [{"from": "human", "value": "cat \\ud83d\\udc31"}, {"from": "gpt", "value": "Yo"}]}\n]\n`,
    );
    const out = join(dir, 'surrogate.out.jsonl');
    const rejects = join(dir, 'surrogate.rejects.jsonl');
    for (const to of ['sharegpt', 'llava', 'openai']) {
      const result = await runCli(['convert', path, '--to', to, '-o', out, '--rejects', rejects, '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        read: 4,
        written: 2,
        rejected: 2,
        rejectedByRule: { 'text/lone-surrogate': 2 },
      });
      const [lone, low] = (await readFile(rejects, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).diagnostics[0]);
      expect(lone).toMatchObject({
        ruleId: 'text/lone-surrogate',
        recordIndex: 1,
        pointer: '/conversations/1/value',
        place: { line: 3, column: 1 },
      });
      expect(low).toMatchObject({
        ruleId: 'text/lone-surrogate',
        recordIndex: 2,
        pointer: '/image',
        place: { line: 4, column: 1 },
      });
      // What was written is text Python can encode.
      const python = spawnSync(
        'python3',
        [
          '-c',
          "import json, sys\nfor line in open(sys.argv[1], encoding='utf-8'):\n  line.strip() and json.dumps(json.loads(line), ensure_ascii=False).encode('utf-8')\nprint('ok', end='')",
          out,
        ],
        { encoding: 'utf8' },
      );
      if (python.error === undefined) expect(python.stdout, python.stderr).toBe('ok');
      const text = await readFile(out, 'utf8');
      expect(text).not.toMatch(/\\ud[89a-f]/i);
      expect(text).toContain('🐱');
    }
  });
});
