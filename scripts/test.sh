#!/bin/sh
# The whole test suite: static checks, the unit tier (seconds), then the end-to-end tier (builds and
# boots real images; needs root). Installs npm and Debian prerequisites first, so it runs on a fresh
# Debian 12 machine.
set -eu
cd "$(dirname "$0")/.."
./kiln prereqs --all --install
npx tsc -p tsconfig.test.json
npx eslint .
npx vitest run --project unit
npx vitest run --project e2e
