// Countersigning verified images at the gap: for every image that passed verification, the index digest and
// every carried platform manifest digest get the operator key's signature in each form Talos reads (forms.ts),
// and the image gets a signed receipt of what was verified (referrer + `.att`). Nothing here verifies upstream
// signatures: the caller hands over only images that passed (one call site in push / countersign).
import type {SigningKey} from '../keys/index.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {COSIGN_SIGN_PREDICATE} from '../sigstore/payload.ts'
import {ensureAttLayer, ensureBundleReferrer, ensureSigLayer, type FormOutcome} from './forms.ts'
import {RECEIPT_PREDICATE, receiptStatement, signatureStatement, simpleSigningPayload} from './payloads.ts'
import type {CountersignTarget} from './target.ts'
import type {UnsignedImage, VerificationRecord, VerifiedImage} from './types.ts'

export interface CountersignJob {
  image: VerifiedImage
  /** The image's repository in the mirror. */
  target: CountersignTarget
}

export interface SubjectOutcome {
  digest: string
  /** 'platform' for a manifest under an index. */
  role: 'root' | 'platform'
  referrer: FormOutcome
  fallbackIndex: FormOutcome
  sig: FormOutcome
}

export interface CountersignedImage {
  reference: string
  target: string
  subjects: SubjectOutcome[]
  receipt: {referrer: FormOutcome; fallbackIndex: FormOutcome; att: FormOutcome}
}

export interface CountersignReport {
  keyHint: string
  publicKeyPem: string
  signed: CountersignedImage[]
  /** Images handed in as not verified (failed, skip rule ...): never signed, listed with the reason. */
  notSigned: UnsignedImage[]
  /** Signatures and receipts written this run (0 on a re-run). */
  written: number
}

export interface CountersignOptions {
  key: SigningKey
  jobs: CountersignJob[]
  notSigned?: UnsignedImage[]
  record: VerificationRecord
  onImage?: (image: CountersignedImage) => void
}

export async function countersignImages(options: CountersignOptions): Promise<CountersignReport> {
  const signed: CountersignedImage[] = []
  let written = 0
  const count = (...outcomes: FormOutcome[]) => (written += outcomes.filter(o => o === 'written').length)
  for (const {image, target} of options.jobs) {
    const subjects: SubjectOutcome[] = []
    const all: Array<[Descriptor, SubjectOutcome['role']]> = [
      [image.root, 'root'],
      ...image.platforms.map((p): [Descriptor, SubjectOutcome['role']] => [p, 'platform']),
    ]
    for (const [subject, role] of all) {
      const bundle = await ensureBundleReferrer(target, options.key, subject, COSIGN_SIGN_PREDICATE, () =>
        signatureStatement(image.repository, subject.digest),
      )
      const sig = await ensureSigLayer(target, options.key, subject.digest, () =>
        simpleSigningPayload(image.repository, subject.digest),
      )
      count(bundle.referrer, bundle.fallbackIndex, sig)
      subjects.push({digest: subject.digest, role, referrer: bundle.referrer, fallbackIndex: bundle.fallbackIndex, sig})
    }
    const statement = () => receiptStatement(image, options.record)
    const receiptBundle = await ensureBundleReferrer(target, options.key, image.root, RECEIPT_PREDICATE, statement)
    const att = await ensureAttLayer(target, options.key, image.root.digest, RECEIPT_PREDICATE, statement)
    count(receiptBundle.referrer, receiptBundle.fallbackIndex, att)
    const done: CountersignedImage = {
      reference: image.reference,
      target: target.name,
      subjects,
      receipt: {referrer: receiptBundle.referrer, fallbackIndex: receiptBundle.fallbackIndex, att},
    }
    signed.push(done)
    options.onImage?.(done)
  }
  return {
    keyHint: options.key.hint,
    publicKeyPem: options.key.publicKeyPem,
    signed,
    notSigned: options.notSigned ?? [],
    written,
  }
}
