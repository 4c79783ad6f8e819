import { defineConfig } from 'vitest/config';

// Two tiers: `unit` (pure code and small real tools, seconds) and `e2e` (builds and boots real images).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // removes the run's work directory after a passing run (kept, and named, after a failure)
          globalSetup: ['test/e2e/lib/global-setup.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
          // Images are built once per file and shared by its checks; files run one at a time (2-core CI).
          fileParallelism: false,
          sequence: { concurrent: false },
        },
      },
    ],
  },
});
