import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../test-utils.js';

describe('llava validate picks the kind of each file (real CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('llava-kinds-')));
  afterAll(() => cleanup());

  it('checks a CC-3M metadata file as metadata, not as chat records', async () => {
    const meta = join(dir, 'metadata.json');
    await writeFile(
      meta,
      JSON.stringify([
        {
          id: 'GCC_train_000000001',
          image: 'GCC_train_000000001.jpg',
          caption: 'a dog .',
          url: 'u',
          blip_caption: 'b',
        },
        { id: 'GCC_train_000000002', caption: 'no image here .' },
      ]),
    );
    const result = await runCli(['validate', meta, '--json']);
    expect(result.code).toBe(1);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.slice(0, -1).map((d) => [d.ruleId, d.recordIndex, d.pointer])).toEqual([
      ['schema/required', 1, '/image'],
    ]);
  });

  it('checks image lists as LLaVA-NeXT when the records say so, and as LLaVA v1.5 with --from llava', async () => {
    const next = join(dir, 'next.jsonl');
    const record = {
      id: 0,
      image: ['a.jpg', 'b.jpg'],
      data_source: 'x',
      conversations: [
        { from: 'human', value: '<image>\nFirst <image>\nSecond' },
        { from: 'gpt', value: 'Two pictures.' },
      ],
    };
    await writeFile(next, `${JSON.stringify(record)}\n`);
    expect((await runCli(['validate', next])).code).toBe(0);
    const strict = await runCli(['validate', next, '--from', 'llava', '--json']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('"ruleId":"image/list"');
  });
});
