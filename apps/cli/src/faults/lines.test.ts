/**
 * Fault suite, line-oriented readers (issue 11), on the real `llava` binary: a 2 GB file of zeros (sparse, so it costs
 * nothing on disk) and files with a line of hundreds of MB, fed to `prompts parse`, `prompts build --caps-boxes`,
 * and the JSON Lines record reader (`validate`, `convert`). Each reports the line with a rule and its place, goes on
 * at the next newline, and stays in bounded memory — never a RangeError or a raw stack.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunResult, repoRoot, runCli, tempDir } from '../test-utils.js';

/** A CLI run and the child's peak RSS in MiB (measured from inside the child: no /usr/bin/time needed). */
interface MeasuredRun extends RunResult {
  readonly peakMiB: number;
}

async function runMeasured(dir: string, args: readonly string[]): Promise<MeasuredRun> {
  const preload = join(dir, 'peak-rss.mjs');
  const report = join(dir, `peak-rss-${process.hrtime.bigint()}.txt`);
  await writeFile(
    preload,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { if (process.env.LLAVA_PEAK_RSS_FILE) writeFileSync(process.env.LLAVA_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)); });\n",
  );
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${preload}`, LLAVA_PEAK_RSS_FILE: report } });
  const kib = Number(await readFile(report, 'utf8').catch(() => 'NaN'));
  return { ...result, peakMiB: kib / 1024 };
}

/** Write `before`, then `gap` zero bytes (a hole: sparse on disk), then `after`. */
async function sparse(path: string, before: string, gap: number, after: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(before, 0);
    const at = Buffer.byteLength(before) + gap;
    if (after) await handle.write(after, at);
    else await handle.truncate(at);
  } finally {
    await handle.close();
  }
}

const noCrash = (result: RunResult) => {
  expect(result.stderr).not.toMatch(/RangeError|Invalid string length|\n\s+at .+:\d+:\d+\)?\n/);
};

const GB2 = 2 * 1024 ** 3;
const MB = 1024 ** 2;
const peaks: Record<string, number> = {};

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-faults-lines-')));
afterAll(async () => {
  console.info(`line readers peak RSS (MiB): ${JSON.stringify(peaks)}`);
  await cleanup();
});

describe('prompts parse (Batch output, errors, manifest)', () => {
  it('reports a 2 GB file of zeros as one over-long line (prompts/line-too-long), in bounded memory', async () => {
    const zeros = join(dir, 'zeros.jsonl');
    await sparse(zeros, '', GB2, '');
    const result = await runMeasured(dir, ['prompts', 'parse', zeros, '-o', join(dir, 'out.json')]);
    peaks['prompts parse, 2 GB of zeros'] = Math.round(result.peakMiB);
    noCrash(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`zeros.jsonl:1:1  error  Line 1 has ${GB2} bytes`);
    expect(result.stderr).toContain('[prompts/line-too-long]');
    expect(result.peakMiB).toBeLessThan(400);
  });

  it('skips a 300 MB line to the next newline and reads on (the manifest too)', async () => {
    const output = join(dir, 'output.jsonl');
    const good = JSON.stringify({
      custom_id: 'detail:1',
      response: {
        status_code: 200,
        body: { choices: [{ message: { content: 'A cat on a mat.' }, finish_reason: 'stop' }] },
      },
    });
    await sparse(output, `${good}\n`, 300 * MB, `\n${JSON.stringify({ no: 'id' })}\n`);
    const manifest = join(dir, 'manifest.jsonl');
    await sparse(
      manifest,
      `${JSON.stringify({ custom_id: 'detail:1', kind: 'detail', id: '1', image: '1.jpg' })}\n`,
      100 * MB,
      '\n',
    );
    const out = join(dir, 'parsed.json');
    const result = await runCli(['prompts', 'parse', output, '--manifest', manifest, '-o', out]);
    noCrash(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /output\.jsonl:2:1 {2}error {2}Line 2 has 314572800 bytes.*\[prompts\/line-too-long\]/,
    );
    expect(result.stderr).toMatch(/output\.jsonl:3:1 .*\[prompts\/bad-line\]/); // read on after the long line
    expect(result.stderr).toMatch(/manifest\.jsonl:2:1 .*\[prompts\/line-too-long\]/);
    const records = JSON.parse(await readFile(out, 'utf8'));
    expect(records).toHaveLength(1);
    expect(records[0].id).toBe('1');
  });
});

describe('prompts build --caps-boxes', () => {
  it('reports a 300 MB line with its place and builds the other lines', async () => {
    const caps = join(dir, 'caps.jsonl');
    const line = (id: string) =>
      JSON.stringify({
        id,
        image: `${id}.jpg`,
        captions: ['A red kite.'],
        instances: [{ category: 'kite', bbox: [0.1, 0.1, 0.2, 0.2] }],
      });
    await sparse(caps, `${line('101')}\n`, 300 * MB, `\n${line('202')}\n`);
    const out = join(dir, 'caps-out');
    const result = await runCli([
      'prompts',
      'build',
      '--prompts',
      join(repoRoot, 'packages/prompts/src/__fixtures__/prompts'),
      '--kind',
      'detail',
      '--caps-boxes',
      caps,
      '--model',
      'm',
      '-o',
      out,
    ]);
    noCrash(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /caps\.jsonl:2:1 .*record #1 .*Line 2 has 314572800 bytes.*\[prompts\/line-too-long\]/,
    );
    expect(result.stderr).toContain('Built 2 requests (detail) for 2 images');
  });
});

describe('the JSON Lines record reader (validate, convert)', () => {
  const record = (id: string) =>
    JSON.stringify({
      id,
      conversations: [
        { from: 'human', value: 'Hi?' },
        { from: 'gpt', value: 'Hello.' },
      ],
    });

  it('rejects a 600 MB line as one record (json/record-too-large, with its place) and reads on; nothing is lost', async () => {
    const input = join(dir, 'long.jsonl');
    await sparse(input, `${record('a')}\n`, 600 * MB, `\n${record('b')}\n`);
    const out = join(dir, 'long-out.jsonl');
    const rejects = join(dir, 'long-rejects.jsonl');
    const result = await runMeasured(dir, [
      'convert',
      input,
      '--to',
      'llava',
      '-o',
      out,
      '--rejects',
      rejects,
      '--json',
    ]);
    peaks['convert, 600 MB line'] = Math.round(result.peakMiB);
    noCrash(result);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: 1 });
    expect(summary.rejectedByRule).toEqual({ 'json/record-too-large': 1 });
    const written = (await readFile(out, 'utf8')).trim().split('\n');
    expect(written.map((l) => JSON.parse(l).id)).toEqual(['a', 'b']);
    // The limit (512 MiB by default) bounds what is kept; the skipped bytes are never held.
    expect(result.peakMiB).toBeLessThan(800);

    const validate = await runCli(['validate', input]);
    noCrash(validate);
    expect(validate.code).toBe(1);
    const report = validate.stdout + validate.stderr;
    expect(report).toContain('json/record-too-large');
    expect(report).toMatch(/long\.jsonl:2:1 .*Record #1 \(line 2\) has 629145600 bytes/);
    expect(report).toContain('checked 3 records');
    expect(report).not.toContain('reading stopped early');
  });

  it('reports a 2 GB file of zeros with a rule, quickly and in little memory', async () => {
    const zeros = join(dir, 'zeros2.jsonl');
    await sparse(zeros, '', GB2, '');
    const result = await runMeasured(dir, ['validate', zeros]);
    peaks['validate, 2 GB of zeros'] = Math.round(result.peakMiB);
    noCrash(result);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(
      /json\/syntax[\s\S]*zeros2\.jsonl:1:1 {2}The input is not JSON: it starts with byte 0x00/,
    );
    expect(result.peakMiB).toBeLessThan(400);
  });
});
