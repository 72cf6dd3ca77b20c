#!/usr/bin/env bash
# Mutation testing with StrykerJS, one folder at a time (stryker.config.mjs): `npm run mutate` runs all four,
# `npm run mutate -- policy trust` some. Slow (minutes per folder): not part of CI; the report is committed
# (reports/mutation/<folder>.json, summarised in docs/MUTATION.md).
set -euo pipefail
cd "$(dirname "$0")/.."
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(policy archive trust sigstore)
for f in "${folders[@]}"; do
  echo "== mutation testing src/$f"
  MUTATE="$f" npx stryker run stryker.config.mjs
done
