// The `signatures` section of airlock.json: which signature artifacts the archive carries for which subject.
// Written by export's discovery hook (discover.ts), read by verify (archive-check.ts) and push (archiveArtifacts).
// Like everything in airlock.json it is a claim, never a reason to trust: verify binds every signature to its
// subject through the signed payload / in-toto subject, so a lying section can only make verification fail.
//
//   "signatures": {
//     "version": 1,
//     "subjects": [
//       {"image": "<full source reference>", "digest": "sha256:<subject>", "entries": [
//          {"kind": "legacy-tag", "tag": "sha256-<hex>.sig", "role": "signature", "artifactType"?: "...",
//           "descriptor": {mediaType, digest, size}},
//          {"kind": "referrer", "role": "signature"|"attestation"|"sbom"|"other", "artifactType": "...", "descriptor": {...}}
//       ]}
//     ],
//     "proofs": {"<logIndex>": "sigstore/proofs/<logIndex>.json"}      inclusion proofs fetched at export
//   }
import {parseRecordedDescriptor} from '../archive/schema.ts'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {parseDigest, type Digest} from '../oci/digest.ts'

export const SIGNATURES_SECTION = 'signatures'
export const PROOFS_DIR = 'sigstore/proofs'

export type SignatureRole = 'signature' | 'attestation' | 'sbom' | 'other'

export interface SignatureEntry {
  kind: 'legacy-tag' | 'referrer'
  /** The legacy tag (`sha256-<hex>.sig`); absent for referrers. */
  tag?: string
  /** Root of the signature graph (a manifest), copied into the archive unchanged. */
  descriptor: Descriptor
  artifactType?: string
  role: SignatureRole
}

export interface SubjectSignatures {
  /** The image reference the subject belongs to (airlock.json images[].reference). */
  image: string
  /** The index or manifest digest the signatures are attached to. */
  digest: Digest
  entries: SignatureEntry[]
}

export interface SignaturesSection {
  version: 1
  subjects: SubjectSignatures[]
  /** logIndex -> archive file holding the inclusion proof and checkpoint fetched at export. */
  proofs?: Record<string, string>
}

const ROLES = new Set<SignatureRole>(['signature', 'attestation', 'sbom', 'other'])

function fail(message: string): never {
  throw new AirlockError('ARCHIVE_INVALID', `airlock.json signatures: ${message}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Strictly parses the section from untrusted airlock.json; undefined when the archive has none. */
export function parseSignaturesSection(value: unknown): SignaturesSection | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) fail('not an object')
  if (value.version !== 1) fail(`unsupported version ${JSON.stringify(value.version)}`)
  if (!Array.isArray(value.subjects)) fail('subjects must be an array')
  const subjects = value.subjects.map((s, i): SubjectSignatures => {
    if (!isObject(s) || typeof s.image !== 'string' || !Array.isArray(s.entries))
      fail(`subjects[${i}] must be {image, digest, entries}`)
    const entries = s.entries.map((e, j): SignatureEntry => {
      const what = `subjects[${i}].entries[${j}]`
      if (!isObject(e) || (e.kind !== 'legacy-tag' && e.kind !== 'referrer'))
        fail(`${what}.kind must be legacy-tag or referrer`)
      if (!ROLES.has(e.role as SignatureRole)) fail(`${what}.role is not one of ${[...ROLES].join(', ')}`)
      const entry: SignatureEntry = {
        kind: e.kind,
        role: e.role as SignatureRole,
        descriptor: parseRecordedDescriptor(e.descriptor, `${what}.descriptor`, fail),
      }
      if (e.tag !== undefined) {
        if (typeof e.tag !== 'string' || !/^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/.test(e.tag))
          fail(`${what}.tag is not a cosign tag`)
        entry.tag = e.tag
      }
      if (entry.kind === 'legacy-tag' && entry.tag === undefined) fail(`${what} is a legacy-tag without a tag`)
      if (e.artifactType !== undefined) {
        if (typeof e.artifactType !== 'string') fail(`${what}.artifactType must be a string`)
        entry.artifactType = e.artifactType
      }
      return entry
    })
    return {image: s.image, digest: parseDigest(s.digest, `airlock.json signatures subjects[${i}].digest`), entries}
  })
  const out: SignaturesSection = {version: 1, subjects}
  if (value.proofs !== undefined) {
    if (!isObject(value.proofs)) fail('proofs must be an object')
    const proofs: Record<string, string> = {}
    for (const [k, v] of Object.entries(value.proofs)) {
      if (!/^\d{1,19}$/.test(k) || v !== `${PROOFS_DIR}/${k}.json`)
        fail(`proofs[${JSON.stringify(k)}] must name ${PROOFS_DIR}/<logIndex>.json`)
      proofs[k] = v
    }
    out.proofs = proofs
  }
  return out
}
