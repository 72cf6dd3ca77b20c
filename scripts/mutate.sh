#!/usr/bin/env bash
# Mutation testing with StrykerJS and the in-process node:test runner, one folder at a time (stryker.config.mjs): `npm run mutate` runs all four,
# `npm run mutate -- policy trust` some. Not part of CI; the reports are committed (reports/mutation/<folder>.json,
# summarised in docs/MUTATION.md) and are the incremental baseline of the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Stryker and its runner need the project's Node 22 (it runs the .ts sources and tests directly)
export PATH="$PWD/node_modules/.bin:$PATH"
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(policy archive trust sigstore)
for f in "${folders[@]}"; do
  echo "== mutation testing src/$f"
  MUTATE="$f" stryker run stryker.config.mjs
done
