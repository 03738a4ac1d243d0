/**
 * Fault suite, images (issue 11): `images check --json` of a dataset whose images are all missing. The report holds
 * one diagnostic per missing image; printed as one string it was larger than V8 can hold (a `JSON.stringify` of
 * 300,000 diagnostics ran out of memory). It is streamed, so any number of problems gives a complete JSON report.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot, tempDir } from '../test-utils.js';

const RECORDS = 300_000;

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('llava-faults-images-json-'));
  await mkdir(join(dir, 'images'));
  const out = createWriteStream(join(dir, 'data.json'));
  out.write('[');
  for (let i = 0; i < RECORDS; i++) {
    const record = {
      id: String(i),
      image: `coco/train2017/${String(i).padStart(12, '0')}.jpg`,
      conversations: [
        { from: 'human', value: '<image>\nWhat is shown?' },
        { from: 'gpt', value: 'A cat.' },
      ],
    };
    if (!out.write(`${i === 0 ? '' : ','}${JSON.stringify(record)}`)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) => out.end(']', () => resolve()).once('error', reject));
});

afterAll(async () => {
  await cleanup();
});

/** Run the CLI with standard output going to a file (the report is hundreds of MB). */
async function runToFile(
  args: readonly string[],
  stdoutPath: string,
): Promise<{ code: number | null; stderr: string }> {
  const handle = await open(stdoutPath, 'w');
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [binPath, ...args], {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', handle.fd, 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  } finally {
    await handle.close();
  }
}

describe('images check --json with a diagnostic for each of 300,000 missing images', () => {
  it('prints a complete JSON report (exit 1, every diagnostic), never running out of memory', async () => {
    const report = join(dir, 'report.json');
    const result = await runToFile(
      ['images', 'check', join(dir, 'data.json'), '--images', join(dir, 'images'), '--json'],
      report,
    );
    expect(result.stderr).not.toMatch(/heap out of memory|RangeError|Invalid string length/);
    expect(result.code).toBe(1);
    expect((await stat(report)).size).toBeGreaterThan(100_000_000);
    // Read the report line by line (it is too big to parse as one string in the test either).
    let missing = 0;
    let first = '';
    let last = '';
    for await (const line of createInterface({ input: createReadStream(report, 'utf8') })) {
      if (!first) first = line;
      last = line;
      if (line.includes('"ruleId": "images/missing"')) missing++;
    }
    expect(first).toBe('{');
    expect(last).toBe('}');
    expect(missing).toBe(RECORDS);
  }, 120_000);
});
