import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['src/test-utils/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // The site and demo tests share one docs build and one machine; run files one at a time.
    fileParallelism: false,
  },
});
