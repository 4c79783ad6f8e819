import { defineConfig } from 'vitest/config';

/**
 * End-to-end files that only `npm run test:full` runs (KILN_E2E_TIER=full): CI's tier proves every
 * feature at least once within its time budget; these go deeper on what another file already proves.
 * - azl-test-repo: the offline repository's own checks (azurelinux.test.ts builds and boots from it).
 * - gui-installer: the graphical installer (a live desktop and Calamares under TCG); the engine it
 *   drives is proven by iso.test.ts.
 */
const FULL_ONLY = ['test/e2e/azl-test-repo.test.ts', 'test/e2e/gui-installer.test.ts'];
const full = process.env.KILN_E2E_TIER === 'full';

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
          exclude: full ? [] : FULL_ONLY,
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
