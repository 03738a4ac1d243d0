import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@llavakit/source'] },
  ssr: { resolve: { conditions: ['@llavakit/source'] } },
  test: { name: 'format-parquet', include: ['src/**/*.test.ts'], testTimeout: 30_000 },
});
