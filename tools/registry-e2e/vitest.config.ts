import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'registry-e2e',
    include: ['src/**/*.test.ts'],
    // One publish of every package and one global install through a loopback registry: slow by nature, run once.
    testTimeout: 240_000,
    hookTimeout: 420_000,
  },
});
