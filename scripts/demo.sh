#!/usr/bin/env bash
# The README quick start, end to end with no network: export the example OCI layout into an archive, verify it,
# show what is inside. Run with `npm run demo` (builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
airlock() { node bin/run.js "$@"; }

echo "== airlock export"
airlock export -o "$work/example.tar" \
  oci:fixtures/example:example.com/demo/hello:1.0 \
  oci:fixtures/example:example.com/demo/multi:1.0
echo "== airlock verify"
airlock verify "$work/example.tar"
echo "== airlock inspect"
airlock inspect "$work/example.tar"
if command -v skopeo >/dev/null; then
  echo "== skopeo reads the same archive"
  skopeo inspect --format '{{.Digest}} {{.Os}}/{{.Architecture}}' "oci-archive:$work/example.tar:example.com/demo/hello:1.0"
fi
