import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@llavakit/source'] },
  ssr: { resolve: { conditions: ['@llavakit/source'] } },
  test: { name: 'convert', include: ['src/**/*.test.ts'] },
});
