import { defineProject } from 'vitest/config';

// Installed from a registry by name, it is tested in tools/registry-e2e (registry.e2e.test.ts).
export default defineProject({
  test: { name: 'llavakit-format-webdataset', include: ['src/**/*.test.ts'] },
});
