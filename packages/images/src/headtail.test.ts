import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFileWhole, readFileWholeSync } from './headtail.js';

// /proc/self/status says 0 bytes to fstat and then reads as text: a file that "grew" while it was read.
const PROC = existsSync('/proc/self/status');
const proc = { roots: () => ['/proc'], follow: false };

describe('whole-file reads notice a file that grew since fstat, blocking and on the thread pool alike', () => {
  it.skipIf(!PROC)(
    'refuses it as changed, or as too large past the limit, never returning its bytes (needs /proc)',
    async () => {
      expect(() => readFileWholeSync('/proc/self/status', proc, 1 << 20)).toThrow(/changed while it was read/);
      await expect(readFileWhole('/proc/self/status', proc, 1 << 20)).rejects.toThrow(/changed while it was read/);
      // a limit of 0 bytes: the first byte past fstat's size is already too many
      expect(() => readFileWholeSync('/proc/self/status', proc, 0)).toThrow(/grew to at least 1 bytes/);
      await expect(readFileWhole('/proc/self/status', proc, 0)).rejects.toThrow(/grew to at least 1 bytes/);
    },
  );
});
