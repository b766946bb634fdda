import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real deployments bind fixed ports on loopback addresses: run test files one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
