import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { binPath, repoRoot, runCli, tempDir } from '../test-utils.js';

const RECORD = {
  id: '1',
  image: 'coco/a.jpg',
  conversations: [
    { from: 'human', value: '<image>\nWhat is it?' },
    { from: 'gpt', value: 'A cat.' },
  ],
};

/** Start `llava view`, wait for the first line of stdout (the URL), and give back the process and the URL. */
function startView(args: string[]) {
  const child = spawn(process.execPath, [binPath, 'view', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.on('exit', () => reject(new Error(`exited before printing a URL: ${stderr}`)));
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

describe('llava view (real CLI process)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    input = join(dir, 'data.jsonl');
    await writeFile(input, `${[RECORD, { ...RECORD, id: '2' }].map((r) => JSON.stringify(r)).join('\n')}\n`);
  });
  afterAll(() => cleanup());

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`prints the URL as its first line, serves with the token only, and closes cleanly on ${signal} (exit 0)`, async () => {
      const run = startView([input]);
      const url = await run.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
      const { origin } = new URL(url);
      const token = new URL(url).searchParams.get('token')!;
      expect((await fetch(`${origin}/api/meta`)).status).toBe(403);
      const meta = (await (await fetch(`${origin}/api/meta`, { headers: { 'x-llava-token': token } })).json()) as {
        records: number;
      };
      expect(meta.records).toBe(2);
      run.child.kill(signal);
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.output().stdout).toBe(`${url}\n`);
      expect(run.output().stderr).toContain('2 records in 1 file(s)');
      await expect(fetch(`${origin}/api/meta`)).rejects.toThrow();
    });
  }

  it('opens a Parquet Hub folder (as llava convert writes it) and reads its records by row group', async () => {
    const other = await tempDir(); // not under `dir`: a folder holding Parquet anywhere below is read as Parquet
    onTestFinished(() => other.cleanup());
    const converted = await runCli(['convert', input, '--to', 'parquet', '-o', join(other.dir, 'hub')]);
    expect(converted.code).toBe(0);
    const run = startView([join(other.dir, 'hub')]);
    const url = await run.url;
    const { origin } = new URL(url);
    const headers = { 'x-llava-token': new URL(url).searchParams.get('token')! };
    const meta = (await (await fetch(`${origin}/api/meta`, { headers })).json()) as { records: number };
    expect(meta.records).toBe(2);
    const view = (await (await fetch(`${origin}/api/record?n=1`, { headers })).json()) as { value: unknown };
    expect(view.value).toEqual({ ...RECORD, id: '2' });
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });

  it('reads a record-level format with --from (decoded when indexed and read), exit 2 for an unknown one', async () => {
    const sharegpt = join(dir, 'sharegpt.json');
    const conversations = [
      { from: 'human', value: '<image>What is it?' },
      { from: 'gpt', value: 'A cat.' },
    ];
    await writeFile(sharegpt, JSON.stringify([{ conversations, images: ['coco/a.jpg'] }]));
    const run = startView([sharegpt, '--from', 'sharegpt']);
    const url = await run.url;
    const { origin } = new URL(url);
    const headers = { 'x-llava-token': new URL(url).searchParams.get('token')! };
    const view = (await (await fetch(`${origin}/api/record?n=0`, { headers })).json()) as {
      value: { image?: unknown; conversations: unknown[] };
      row: { images: number };
    };
    expect(view.value.image).toBe('coco/a.jpg'); // the canonical record, not the sharegpt row
    expect(view.row.images).toBe(1);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const unknown = await runCli(['view', sharegpt, '--from', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown format nope');
  });

  it('exits 1 for an input it cannot read, 2 for usage errors', async () => {
    const missing = await runCli(['view', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/nope\.json/);
    expect(missing.stderr).toContain('input/not-found');
    const folder = await runCli(['view', dir]);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain('input/is-directory');
    // A FIFO cannot be read back by offset: a diagnostic, before a byte of it is read (the writer is still waiting).
    const fifo = join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const piped = await runCli(['view', fifo]);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain('input/unreadable');
    expect(piped.stderr).toMatch(/regular file/);
    expect(piped.stderr).not.toMatch(/ESPIPE|\n\s+at /);
    expect((await runCli(['view'])).code).toBe(2);
    expect((await runCli(['view', input, '--port', 'x'])).code).toBe(2);
    expect((await runCli(['view', input, '--bogus'])).code).toBe(2);
  });
});
