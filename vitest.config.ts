import { defineConfig } from 'vitest/config';

/**
 * End-to-end files that only `npm run test:full` runs (KILN_E2E_TIER=full): CI's tier proves every
 * feature at least once within its time budget; these go deeper on what another file already proves.
 * - azl-test-repo: the offline repository's own checks (azurelinux.test.ts builds and boots from it).
 * ux.test.ts stays in CI: it checks events, SBOMs and inspect on the images build-efi, build-legacy and
 * build-rootfs build anyway (same memo keys); its own cost is about 2 min, most of it the npm-package
 * build (measured: the four files together 543 s on a loaded 2-core machine, ux.test.ts 409 s of it
 * including the three shared builds). kiln boot's signal handling is proven in the unit tier
 * (test/unit/boot-vm/signals.test.ts: qemu on a blank disk, no build needed).
 * - cache-full: a damaged disk-build tree cache entry rebuilt by a fresh install (two full Debian
 *   installs, about 8 min on a loaded 2-core machine); cache.test.ts proves store, restore, the same
 *   bytes and a miss, and cache-rpm.test.ts a damaged entry detected and rebuilt, in the CI tier.
 * - trusted-boot-full: the ISO install of an encrypted root, verity and Secure Boot refusals (flipped
 *   byte, unsigned and foreign-key UKIs), the UKI booted directly, Azure Linux's encrypted root
 *   (trusted-boot.test.ts boots one LUKS + shim and one verity + signed UKI image in CI).
 * - gui-installer: the graphical installer (a live desktop and Calamares under TCG); the engine it
 *   drives is proven by iso.test.ts.
 */
const FULL_ONLY = [
  'test/e2e/azl-test-repo.test.ts',
  'test/e2e/cache-full.test.ts',
  'test/e2e/trusted-boot-full.test.ts',
  'test/e2e/gui-installer.test.ts',
];
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
