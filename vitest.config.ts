import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Quiet by default (a line per cloud call adds up); tests that read logs raise it themselves.
    env: { FERRY_LOG_LEVEL: 'warn' },
    include: ['test/**/*.test.ts'],
    exclude: ['test/chaos/**'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
