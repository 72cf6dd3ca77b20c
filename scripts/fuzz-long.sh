#!/usr/bin/env bash
# The long fuzz run for humans (docs/SECURITY.md): the properties of test/fuzz.test.ts with 50x the CI runs and a
# fresh random seed each time (printed; replay a failure with FUZZ_SEED=<seed> FUZZ_SCALE=50).
#   scripts/fuzz-long.sh            # ~3-5 minutes
#   FUZZ_SCALE=500 scripts/fuzz-long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export FUZZ_SCALE="${FUZZ_SCALE:-50}"
export FUZZ_SEED="${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
export FUZZ_HANG_MS="${FUZZ_HANG_MS:-10000}"
echo "fuzz-long: seed $FUZZ_SEED scale $FUZZ_SCALE"
exec node --test --test-timeout=0 test/fuzz.test.ts
