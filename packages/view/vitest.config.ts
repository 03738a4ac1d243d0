import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@llavakit/source'] },
  ssr: { resolve: { conditions: ['@llavakit/source'] } },
  test: { name: 'view', include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
