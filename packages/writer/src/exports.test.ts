import * as convert from '@llavakit/convert';
import { describe, expect, it } from 'vitest';
import * as writer from './index.js';

describe('@llavakit/writer (deprecated alias)', () => {
  it('re-exports @llavakit/convert unchanged', () => {
    expect(Object.keys(writer).sort()).toEqual(Object.keys(convert).sort());
    expect(writer.convert).toBe(convert.convert);
    expect(writer.FormatRegistry).toBe(convert.FormatRegistry);
  });
});
