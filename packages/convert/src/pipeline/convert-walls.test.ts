import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defineFormat } from '@llavakit/format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../formats/index.js';
import { parseOptionArguments } from '../plugins/options.js';
import { convert } from './convert.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-walls-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const record = (id: string) => ({
  id,
  conversations: [
    { from: 'human', value: 'Q?' },
    { from: 'gpt', value: 'A.' },
  ],
});

async function input(n: number): Promise<string> {
  const path = join(dir, 'in.json');
  await writeFile(path, `[\n${Array.from({ length: n }, (_, i) => JSON.stringify(record(`r${i}`))).join(',\n')}\n]\n`);
  return path;
}

describe('convert() walls', () => {
  it('an async encode that never settles rejects that record after encodeTimeoutMs; the others are written', async () => {
    const registry = createBuiltinRegistry().add(
      defineFormat({
        specVersion: 1,
        name: 'stuck',
        encode: (r) => (r.id === 'r1' ? new Promise(() => undefined) : Promise.resolve({ ok: true, value: r.id })),
      }),
      { plugin: 'test', via: 'specifier' },
    );
    const output = join(dir, 'out.json');
    const summary = await convert({ inputs: [await input(3)], to: 'stuck', output, registry, encodeTimeoutMs: 100 });
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: 1, rejectedByRule: { 'format/encode-failed': 1 } });
    expect(JSON.parse(await readFile(output, 'utf8'))).toEqual(['r0', 'r2']);
  });

  it('an aborted signal ends the run with run/interrupted: no output, no temporary file, written 0', async () => {
    const controller = new AbortController();
    let sent = 0;
    const slow = Readable.from(
      (async function* () {
        yield '[\n';
        for (;;) {
          yield `${JSON.stringify(record(`r${sent++}`))},\n`;
          if (sent === 50) controller.abort('SIGINT');
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })(),
    );
    const output = join(dir, 'never.json');
    await writeFile(output, 'old');
    const summary = await convert({
      inputs: ['-'],
      stdin: slow,
      to: 'sharegpt',
      output,
      registry: createBuiltinRegistry(),
      signal: controller.signal,
    });
    expect(summary).toMatchObject({ failed: true, written: 0, fatal: { ruleId: 'run/interrupted' } });
    expect(summary.read).toBe(summary.rejected + summary.discarded);
    expect(await readFile(output, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['never.json']);
  });

  it('-O arguments: unknown names throw options/unknown before anything is written; values are coerced', async () => {
    const registry = createBuiltinRegistry();
    const path = await input(2);
    await expect(
      convert({
        inputs: [path],
        to: 'sharegpt',
        output: join(dir, 'x.json'),
        registry,
        optionArguments: parseOptionArguments(['nope=1']),
      }),
    ).rejects.toMatchObject({ diagnostic: { ruleId: 'options/unknown', message: /"nope".*Options of sharegpt: / } });
    await expect(
      convert({ inputs: [path], from: 'nope', to: 'sharegpt', output: join(dir, 'x.json'), registry }),
    ).rejects.toMatchObject({ diagnostic: { ruleId: 'format/unknown' } });
    expect(await readdir(dir)).toEqual(['in.json']);
    const output = join(dir, 'ok.jsonl');
    const summary = await convert({
      inputs: [path],
      to: 'sharegpt',
      output,
      registry,
      optionArguments: parseOptionArguments(['id-field=false', 'layout=messages', 'meta=false']),
    });
    expect(summary.written).toBe(2);
    expect(JSON.parse((await readFile(output, 'utf8')).split('\n')[0]!)).toEqual({
      messages: [
        { role: 'user', content: 'Q?' },
        { role: 'assistant', content: 'A.' },
      ],
    });
  });
});
