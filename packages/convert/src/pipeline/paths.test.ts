import { link, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRunPaths } from './paths.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-paths-'));
  await writeFile(join(dir, 'in.json'), '[]');
  await writeFile(join(dir, 'out.json'), 'old');
  await symlink(join(dir, 'out.json'), join(dir, 'alias.json'));
  await link(join(dir, 'out.json'), join(dir, 'hard.json'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function conflict(outputs: [string, string][], allowInputOverwrite = false): Promise<string | undefined> {
  try {
    await checkRunPaths({
      inputs: [{ flag: 'input', path: join(dir, 'in.json') }],
      outputs: outputs.map(([flag, path]) => ({ flag, path })),
      allowInputOverwrite,
    });
    return undefined;
  } catch (error) {
    if (!DiagnosticError.is(error)) throw error;
    expect(error.diagnostic.ruleId).toBe('usage/output-conflict');
    return error.diagnostic.message;
  }
}

describe('checkRunPaths', () => {
  it('lets distinct outputs through, and devices take several outputs', async () => {
    expect(
      await conflict([
        ['-o', join(dir, 'a.json')],
        ['--rejects', join(dir, 'b.jsonl')],
      ]),
    ).toBeUndefined();
    expect(
      await conflict([
        ['-o', '/dev/null'],
        ['--rejects', '/dev/null'],
      ]),
    ).toBeUndefined();
    expect(
      await conflict([
        ['-o', '-'],
        ['--rejects', join(dir, 'r.jsonl')],
      ]),
    ).toBeUndefined();
  });

  it('finds the same file through spellings, symbolic and hard links, and standard output', async () => {
    expect(
      await conflict([
        ['-o', join(dir, 'new.json')],
        ['--rejects', `${dir}/./new.json`],
      ]),
    ).toMatch(/same file/);
    expect(
      await conflict([
        ['-o', join(dir, 'out.json')],
        ['--rejects', join(dir, 'alias.json')],
      ]),
    ).toMatch(/same file/);
    expect(
      await conflict([
        ['-o', join(dir, 'out.json')],
        ['--rejects', join(dir, 'hard.json')],
      ]),
    ).toMatch(/same file/);
    expect(
      await conflict([
        ['-o', '-'],
        ['--rejects', '/dev/stdout'],
      ]),
    ).toMatch(/same file/);
  });

  it('refuses an output that is an input, unless the first output may replace it', async () => {
    expect(await conflict([['-o', join(dir, 'in.json')]])).toMatch(/is the input .*--force/);
    expect(await conflict([['-o', join(dir, 'in.json')]], true)).toBeUndefined();
    expect(
      await conflict(
        [
          ['-o', join(dir, 'x.json')],
          ['--rejects', join(dir, 'in.json')],
        ],
        true,
      ),
    ).toMatch(/--rejects .* is the input/);
  });
});
