#!/bin/sh
# The whole test suite: static checks, the unit tier (seconds), then the end-to-end tier (builds and
# boots real images; needs root). Installs npm and Debian prerequisites first, so it runs on a fresh
# Debian 12 machine. `--full` (npm run test:full) also runs the end-to-end files CI's tier leaves out
# (vitest.config.ts: FULL_ONLY).
set -eu
if [ "${1:-}" = --full ]; then export KILN_E2E_TIER=full; fi
cd "$(dirname "$0")/.."
./kiln prereqs --all --install
npx tsc -p tsconfig.test.json
npx eslint .
npx vitest run --project unit
npx vitest run --project e2e
