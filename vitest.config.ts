import { defineConfig } from 'vitest/config';

// LLAVA_TEST_REPORT=<file> adds vitest's JSON report (used by .ci/run to print its closing line).
const report = process.env.LLAVA_TEST_REPORT;

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/*', 'examples/*/vitest.config.ts'],
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**', 'apps/*/src/**'],
      exclude: ['**/*.test.ts', '**/*.d.ts'],
    },
  },
});
