import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'llavakit-format-webdataset',
    include: ['src/**/*.test.ts'],
    // The end-to-end test packs packages and installs them with npm: slow by nature, run once.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
