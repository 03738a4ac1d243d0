import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadResult } from '@llavakit/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { options, tempDir, write } from './__fixtures__/helpers.js';
import { parquetFormat } from './format.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The modules `file` imports statically, transitively (package-local ones followed, others listed by name). */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  const text = readFileSync(join(here, file), 'utf8');
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
    const target = match[1]!;
    if (target.startsWith('./')) {
      const local = target.replace(/^\.\//, '').replace(/\.js$/, '.ts');
      if (!seen.has(local)) {
        seen.add(local);
        staticImports(local, seen);
      }
    } else seen.add(target);
  }
  return seen;
}

describe('the format as the llava:formats hook registers it', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(() => cleanup());

  it('loads neither the reader nor the writer (nor hyparquet) until a conversion asks for them', () => {
    const loaded = staticImports('hook.ts');
    expect(loaded.has('format.ts')).toBe(true);
    for (const heavy of ['read.ts', 'write.ts', 'hyparquet', 'hyparquet-writer', 'hysnappy', '@llavakit/images']) {
      expect(loaded.has(heavy), heavy).toBe(false);
    }
  });

  it('reads and writes through the modules it imports on first use, and stops reading when asked', async () => {
    const file = join(dir, 'a.parquet');
    const records = [1, 2, 3].map((i) => ({ id: `r${i}`, conversations: [{ from: 'human', value: `q${i}` }] }));
    const seen: unknown[] = [];
    await write(
      (async function* () {
        for (const [index, record] of records.entries()) yield { record, index, file: 'in.json' };
      })(),
      file,
    );
    const context = {
      options: options(),
      file,
      report: () => {},
      count: () => {},
      images: { rewrite: (p: string) => p, readBytes: async () => undefined },
    };
    for await (const result of parquetFormat.read!(file, context) as AsyncIterable<ReadResult>) {
      seen.push(result.ok && result.record);
      if (seen.length === 2) break; // return() reaches the reader
    }
    expect(seen).toEqual(records.slice(0, 2));
    const again = join(dir, 'b.parquet');
    const accepted: unknown[] = [];
    await parquetFormat.write!(
      (async function* () {
        yield { record: records[0]!, index: 0, file: 'in.json' };
      })(),
      {
        ...context,
        file: again,
        output: { path: again },
        accept: (s) => accepted.push(s.record),
        reject: () => {},
      },
    );
    expect(accepted).toEqual([records[0]]);
    const back: unknown[] = [];
    for await (const result of parquetFormat.read!(again, context) as AsyncIterable<ReadResult>) {
      back.push(result.ok && result.record);
    }
    expect(back).toEqual([records[0]]);
  });
});
