// The fixture shared by the in-process verifyImageSignatures tests: one image digest and repository, the keyless
// rule naming the test instance's signer, and a verify() bound to a test Sigstore instance that the caller's
// describe block starts and stops.
import {after, before} from 'node:test'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {PolicyRule} from '../../../src/policy/index.ts'
import {
  parseTrustedRoot,
  verifyImageSignatures,
  type SignatureArtifact,
  type VerifyImageInput,
} from '../../../src/sigstore/index.ts'
import {createTestSigstore, type TestSigstore} from './index.ts'

export const DIGEST = `sha256:${'ab'.repeat(32)}`
export const REF = 'registry.example/team/app'
export const KEYLESS: PolicyRule = {
  image: '**',
  origin: 'flags',
  action: 'keyless',
  identities: [{subject: 'signer@airlock.test', issuer: 'https://issuer.airlock.test'}],
}

export interface ImageVerifier {
  /** the running instance (set once the describe's `before` has run) */
  readonly ss: TestSigstore
  verify(artifacts: SignatureArtifact[], extra?: Partial<VerifyImageInput>): ReturnType<typeof verifyImageSignatures>
}

/** Registers before/after hooks in the current describe and returns the verifier they set up. */
export function useImageVerifier(): ImageVerifier {
  let ss: TestSigstore | undefined
  let root: TrustedRoot
  before(async () => {
    ss = await createTestSigstore({listen: false})
    root = parseTrustedRoot(ss.trustedRootJSON())
  })
  after(() => ss?.stop())
  return {
    get ss() {
      if (!ss) throw new Error('the test Sigstore instance is not started yet')
      return ss
    },
    verify: (artifacts, extra = {}) =>
      verifyImageSignatures({
        subjectDigest: DIGEST,
        artifacts,
        policyRule: KEYLESS,
        trust: {trustedRoots: [root]},
        ...extra,
      }),
  }
}
