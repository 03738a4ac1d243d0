import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkFormatPlugin } from '@llavakit/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImport, withDeadline } from './wall.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llava-wall-'));
  await writeFile(join(dir, 'ok.mjs'), 'export default 1;');
  await writeFile(join(dir, 'loops.mjs'), 'for (;;) {}');
  await writeFile(join(dir, 'waits.mjs'), 'await new Promise(() => {});');
  await writeFile(join(dir, 'throws.mjs'), "throw new Error('at import');");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const url = (name: string) => pathToFileURL(join(dir, name)).href;

describe('probeImport', () => {
  it('passes a module that imports, and stops one that loops, waits forever or throws', async () => {
    expect(await probeImport(url('ok.mjs'))).toEqual({ ok: true });
    expect(await probeImport(url('loops.mjs'), { timeoutMs: 300 })).toEqual({
      ok: false,
      reason: 'its import did not finish within 0.3 s (stopped)',
    });
    expect(await probeImport(url('waits.mjs'), { timeoutMs: 5000 })).toMatchObject({
      ok: false,
      reason: /never finished/,
    });
    expect(await probeImport(url('throws.mjs'))).toEqual({ ok: false, reason: 'at import' });
  });

  it('withDeadline rejects a promise that never settles', async () => {
    await expect(withDeadline(new Promise(() => undefined), 50, 'the hook')).rejects.toThrow(
      'the hook did not finish within 0.1 s',
    );
    await expect(withDeadline(Promise.resolve(7), 50, 'x')).resolves.toBe(7);
  });
});

describe('checkFormatPlugin snapshots the format', () => {
  it('reads every property once, guarded: getters and proxies that throw make the plugin invalid', () => {
    let reads = 0;
    const format = {
      specVersion: 1,
      get name() {
        reads++;
        return 'counted';
      },
      encode() {
        return { ok: true as const, value: this === format };
      },
    };
    const check = checkFormatPlugin(format, 'p');
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(reads).toBe(1);
    expect(check.format.name).toBe('counted');
    expect(reads).toBe(1);
    expect(Object.isFrozen(check.format)).toBe(true);
    // Functions keep their object as `this`.
    expect(check.format.encode?.({ conversations: [] } as never, {} as never)).toEqual({ ok: true, value: true });

    const getter = checkFormatPlugin(
      {
        specVersion: 1,
        name: 'x',
        get encode() {
          throw new Error('getter exploded');
        },
      },
      'p',
    );
    expect(getter).toMatchObject({ ok: false, diagnostic: { ruleId: 'plugin/invalid', message: /getter exploded/ } });
    const proxy = checkFormatPlugin(
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
        },
      ),
      'p',
    );
    expect(proxy).toMatchObject({ ok: false, diagnostic: { message: /reading its format threw: trap/ } });
  });
});
