// Signature verification throughput: N legacy cosign `.sig` signatures (each its own Fulcio-style leaf and
// hashedrekord entry in the test Rekor log, with the SET and, as export stores it, an inclusion proof with a
// signed checkpoint), verified offline through src/sigstore's verifyImageSignatures against a keyless policy rule,
// one image per call as `airlock verify` does. Signing is not timed. The last stdout line is
// "<seconds> s <n> signatures <rate> sig/s".
// Usage: node bench/sigverify.ts [--count N] [--no-proof] [--memoize-der]
//   --memoize-der  experiment: memoize @sigstore/core ASN1Obj.toDER (parsed certificates are never mutated), to
//                  measure what removing the DER re-encoding in X509Certificate.equals/verify would buy
//   --shared-trust experiment: build the trust material once and call verifyBundle per signature (what
//                  verifyImageSignatures would do if it did not rebuild it, re-parsing the trusted root, per image)
import {
  createTestSigstore,
  cosignSimpleSigningPayload,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
} from '../test/support/sigstore/index.ts'
import {
  buildTrustMaterial,
  cosignSignatureToBundle,
  parseBundle,
  parseTrustedRoot,
  verifyBundle,
  verifyImageSignatures,
  type SignatureArtifact,
} from '../src/sigstore/index.ts'
import type {PolicyRule} from '../src/policy/types.ts'
import {createHash} from 'node:crypto'
import {ASN1Obj} from '@sigstore/core'

if (process.argv.includes('--memoize-der')) {
  const cache = new WeakMap<object, Buffer>()
  const original = ASN1Obj.prototype.toDER
  ASN1Obj.prototype.toDER = function (this: InstanceType<typeof ASN1Obj>): Buffer {
    let der = cache.get(this)
    if (!der) {
      der = original.call(this)
      cache.set(this, der)
    }
    return der
  }
}

const at = process.argv.indexOf('--count')
const count = at > 0 ? Number(process.argv[at + 1]) : 1000
const withProof = !process.argv.includes('--no-proof')

const ss = await createTestSigstore({listen: false})
const images: {digest: string; artifacts: SignatureArtifact[]}[] = []
const signed = []
for (let i = 0; i < count; i++) {
  const digest = `sha256:${createHash('sha256').update(`bench image ${i}`).digest('hex')}`
  const sig = ss.signCosignLegacy(cosignSimpleSigningPayload(`registry.bench.test/app-${i}`, digest))
  signed.push({digest, sig})
}
// proofs against the final tree, as export fetches them after all signing happened
for (const {digest, sig} of signed) {
  const inclusionProof = withProof && sig.entry ? ss.tlog.inclusionProof(sig.entry) : undefined
  images.push({
    digest,
    artifacts: [
      {
        kind: 'cosign-signature',
        payload: sig.payload,
        annotations: sig.annotations,
        ...(inclusionProof ? {inclusionProof} : {}),
        source: `sig ${digest}`,
      },
    ],
  })
}
const trustedRoots = [parseTrustedRoot(ss.trustedRootJSON(), 'bench trusted root')]
const rule: PolicyRule = {
  image: '**',
  origin: 'bench',
  action: 'keyless',
  identities: [{subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER}],
}

const sharedTrust = process.argv.includes('--shared-trust')
const started = process.hrtime.bigint()
let failed = 0
let firstFailure = ''
const trust = sharedTrust ? buildTrustMaterial({trustedRoots}) : undefined
for (const image of images) {
  if (trust && rule.action === 'keyless') {
    const a = image.artifacts[0]!
    if (a.kind !== 'cosign-signature') continue
    const bundle = parseBundle(cosignSignatureToBundle(a.payload, a.annotations, {inclusionProof: a.inclusionProof}))
    const result = verifyBundle(
      bundle,
      {kind: 'bytes', bytes: a.payload},
      {trust, signer: {kind: 'keyless', identities: rule.identities}},
    )
    if (!result.ok) {
      failed++
      firstFailure ||= `${result.failure?.check}: ${result.failure?.reason}`
    }
    continue
  }
  const report = verifyImageSignatures({
    subjectDigest: image.digest,
    artifacts: image.artifacts,
    policyRule: rule,
    trust: {trustedRoots},
  })
  if (!report.ok) {
    failed++
    firstFailure ||= report.reason
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9
await ss.stop()
if (failed) {
  process.stderr.write(`${failed} of ${count} signatures did not verify; first: ${firstFailure}\n`)
  process.exit(1)
}
process.stdout.write(
  `${seconds.toFixed(3)} s ${count} signatures ${(count / seconds).toFixed(0)} sig/s${withProof ? ' (SET + inclusion proof)' : ' (SET only)'}\n`,
)
