import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The Node.js platform (file system, wasm files) that the ./node entry registers.
    setupFiles: ['./src/node-platform.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
