import { describe, expect, it } from 'vitest';
import { builtinFormats } from '../../formats/index.js';
import { BUILTIN_FORMAT_MODULES, formatOf } from './worker-format.js';

describe('formatOf (how a worker finds a built-in format)', () => {
  it('knows the module of every built-in format, and only those', async () => {
    expect(Object.keys(BUILTIN_FORMAT_MODULES).sort()).toEqual(builtinFormats.map((f) => f.name).sort());
    for (const format of builtinFormats) expect(await formatOf({ name: format.name })).toBe(format);
  });

  it('refuses a name that is not a built-in format', async () => {
    await expect(formatOf({ name: 'nope' })).rejects.toThrow('no built-in format "nope"');
    await expect(formatOf({ name: 'toString' })).rejects.toThrow('no built-in format "toString"');
  });
});
