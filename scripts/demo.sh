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
airlock export --no-tuf --signatures optional -o "$work/example.tar" \
  oci:fixtures/example:example.com/demo/hello:1.0 \
  oci:fixtures/example:example.com/demo/multi:1.0
echo "== airlock verify"
airlock verify "$work/example.tar" --signatures skip
echo "== airlock inspect"
airlock inspect "$work/example.tar"
if command -v skopeo >/dev/null; then
  echo "== skopeo reads the same archive"
  skopeo inspect --format '{{.Digest}} {{.Os}}/{{.Architecture}}' "oci-archive:$work/example.tar:example.com/demo/hello:1.0"
fi

echo
echo "== signed example: export from oci: (signature, attestation, bundle referrer), no network (--no-rekor)"
sig=fixtures/example-signatures
policy=(--trusted-root "$sig/trusted_root.json" --certificate-identity release@example.test --certificate-oidc-issuer https://accounts.example.test)
airlock export --no-tuf --no-rekor -o "$work/signed.tar" "${policy[@]}" \
  "oci:$sig/oci-layout:registry.example.test/airlock/hello:v1"
echo "== airlock verify (offline, identity policy)"
airlock verify "$work/signed.tar" "${policy[@]}"
echo "== airlock verify with the wrong identity: must be REJECTED"
if airlock verify "$work/signed.tar" --trusted-root "$sig/trusted_root.json" \
  --certificate-identity someone@evil.test --certificate-oidc-issuer https://accounts.example.test; then
  echo "demo: ERROR: a wrong identity was accepted" >&2
  exit 1
fi
echo "(expected failure above: signer release@example.test is not someone@evil.test)"
