import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './test-utils.js';

/**
 * Bad input, through the real CLI: every case ends with a clear diagnostic (rule id and place), an exit code of 1
 * for data errors, and never a stack trace or a hang.
 */
const turns = [
  { from: 'human', value: '<image>\nWhat is it?' },
  { from: 'gpt', value: 'A cat.' },
];
const good = (id: string) => JSON.stringify({ id, image: `${id}.jpg`, conversations: turns });

interface FaultCase {
  readonly name: string;
  readonly make: (dir: string) => Promise<string>;
  /** Expected rule id in the diagnostic, and exit code of `convert` and `validate`. */
  readonly rule: RegExp;
  /** Expected place (`file:line:column`) in the human output, when the fault has one. */
  readonly place?: RegExp;
  readonly convertCode: number;
  readonly validateCode: number;
}

const cases: FaultCase[] = [
  {
    name: 'a file cut off mid-record',
    make: async (dir) => write(dir, 'cut.json', `[${good('a')},\n${good('b').slice(0, 40)}`),
    rule: /json\/truncated/,
    place: /cut\.json:2:\d+/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'invalid UTF-8',
    make: async (dir) =>
      write(
        dir,
        'latin1.json',
        Buffer.concat([
          Buffer.from(`[${good('a')},\n{"id": "caf`),
          Buffer.from([0xe9]),
          Buffer.from('", "conversations": []}]'),
        ]),
      ),
    rule: /encoding\/invalid-utf8/,
    place: /latin1\.json:2:\d+/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'arrays nested 100,000 deep',
    make: async (dir) => write(dir, 'deep.json', `[${good('a')}, ${'['.repeat(100_000)}${']'.repeat(100_000)}]`),
    rule: /json\/too-deep/,
    place: /deep\.json:1:\d+/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'a file that is not JSON at all',
    make: async (dir) => write(dir, 'notes.json', 'id,image\n1,a.jpg\n'),
    rule: /json\/syntax/,
    place: /notes\.json:1:1/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'an empty file',
    make: async (dir) => write(dir, 'empty.json', ''),
    rule: /input\/empty/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'a directory given as input',
    make: async (dir) => {
      await mkdir(join(dir, 'folder.json'), { recursive: true });
      return join(dir, 'folder.json');
    },
    rule: /input\/is-directory/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'a missing file',
    make: async (dir) => join(dir, 'nowhere.json'),
    rule: /input\/not-found/,
    convertCode: 1,
    validateCode: 1,
  },
  {
    name: 'a trailing comma inside a record (LLaVA custom-data doc)',
    make: async (dir) =>
      write(
        dir,
        'comma.json',
        `[${good('a')},\n{"id": "b", "image": "b.jpg", "conversations": [{"from": "human", "value": "<image>\\nQ"},]}]`,
      ),
    rule: /json\/syntax/,
    place: /comma\.json:2:\d+/,
    convertCode: 0,
    validateCode: 1,
  },
];

function write(dir: string, name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  return writeFile(path, content).then(() => path);
}

describe('fault suite: bad input never crashes or hangs the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-faults-')));
  afterAll(() => cleanup());

  for (const fault of cases) {
    it(`${fault.name}: convert and validate report it with its place`, async () => {
      const input = await fault.make(dir);
      const rejects = join(dir, `${fault.name.replaceAll(/\W+/g, '-')}.rejects.jsonl`);
      const converted = await runCli([
        'convert',
        input,
        '--to',
        'sharegpt',
        '-o',
        join(dir, 'out.json'),
        '--rejects',
        rejects,
      ]);
      const validated = await runCli(['validate', input]);
      for (const result of [converted, validated]) {
        const text = result.stdout + result.stderr;
        expect(text).toMatch(fault.rule);
        if (fault.place) expect(text).toMatch(fault.place);
        expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace
        expect(text).not.toMatch(/TypeError|RangeError|ReferenceError/);
      }
      expect(converted.code).toBe(fault.convertCode);
      expect(validated.code).toBe(fault.validateCode);
      if (fault.convertCode === 0) {
        // The broken record is rejected with its text; the good one is written.
        const [reject] = (await readFile(rejects, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(reject).toMatchObject({ index: 1, diagnostics: [expect.objectContaining({ ruleId: 'json/syntax' })] });
        expect(JSON.parse(await readFile(join(dir, 'out.json'), 'utf8'))).toHaveLength(1);
      }
    });
  }

  it('a 100 MB string and __proto__ keys are data, not faults', async () => {
    const big = 'x"é\\'.repeat(25_000_000); // 100 M characters
    const input = await write(
      dir,
      'big.json',
      `[${JSON.stringify({
        id: 'big',
        __proto__: null,
        conversations: [
          { from: 'human', value: 'Describe.' },
          { from: 'gpt', value: big },
        ],
      })},` +
        `{"id": "proto", "__proto__": {"polluted": true}, "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}]`,
    );
    const out = join(dir, 'big.out.jsonl');
    const result = await runCli(['convert', input, '--to', 'llava', '-o', out, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ read: 2, written: 2, rejected: 0 });
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!).conversations[1].value).toHaveLength(big.length);
    const proto = JSON.parse(lines[1]!);
    expect(Object.hasOwn(proto, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);
});
