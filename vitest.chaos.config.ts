import { defineConfig } from 'vitest/config';

// The reliability suite (`npm run test:chaos`): long scenarios against the local stack, one file at a time.
export default defineConfig({
  test: {
    // Quiet by default (a line per cloud call adds up); tests that read logs raise it themselves.
    env: { FERRY_LOG_LEVEL: 'warn' },
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    poolOptions: { forks: { singleFork: true } },
  },
});
