// The 'signatures' image check of verify (and push): the image's signature artifacts are read from the archive
// (never the network), adapted and verified through src/sigstore, and judged against the policy rule for the
// image. It runs only on images whose content passed integrity (verifyArchive's contract).
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {blobPath} from '../archive/schema.ts'
import {AirlockError} from '../errors.ts'
import {loadTrustedRoot} from '../sigstore/trust.ts'
import type {ArchiveReader} from '../archive/reader.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Policy} from '../policy/index.ts'
import {MAX_SIGNATURE_BLOB, type ContentReader} from '../sigstore/artifacts.ts'
import {judgeImage} from '../sigstore/judge.ts'
import {parseStoredProof, proofPath} from '../sigstore/proofs.ts'
import {parseSignaturesSection, type SignaturesSection} from '../sigstore/section.ts'
import type {ImageCheck} from './verify.ts'

export interface SignatureCheckOptions {
  policy: Policy
  trustedRoots: TrustedRoot[]
}

export function archiveContentReader(archive: ArchiveReader): ContentReader {
  return {
    manifest: d => archive.manifest(d),
    blob: (d: Descriptor) => archive.readEntry(blobPath(d.digest), MAX_SIGNATURE_BLOB, d.digest),
    proof: async logIndex => {
      const name = proofPath(logIndex)
      // Only files airlock.json lists were checked by the integrity pass; anything else is not read.
      if (!(name in archive.airlock.files) || !archive.entries.has(name)) return undefined
      return parseStoredProof(await archive.readEntry(name, 1024 * 1024, archive.airlock.files[name]!.digest), logIndex)
    },
  }
}

export function signatureCheck(options: SignatureCheckOptions): ImageCheck {
  let section: SignaturesSection | undefined | null = null
  return {
    name: 'signatures',
    async run({archive, root, report, children, listedChildren}) {
      if (section === null) section = parseSignaturesSection(archive.airlock['signatures'])
      const subjects = section?.subjects.filter(s => s.image === report.reference) ?? []
      const platforms = report.platforms.map(p => p.manifest).filter(m => m.digest !== root.digest)
      const judgement = await judgeImage({
        image: report.reference,
        root,
        platforms,
        ...(listedChildren > 0 ? {children: {listed: listedChildren, carried: children.length}} : {}),
        entriesFor: digest => subjects.filter(s => s.digest === digest).flatMap(s => s.entries),
        reader: archiveContentReader(archive),
        policy: options.policy,
        trustedRoots: options.trustedRoots,
      })
      return {
        name: 'signatures',
        ok: judgement.ok,
        reasons: judgement.ok ? [] : [judgement.reason, ...judgement.lines],
        info: judgement.ok ? [...judgement.warnings, ...judgement.lines] : judgement.warnings,
        details: judgement,
      }
    },
  }
}

/** `--trusted-root FILE` (repeatable) as parsed trusted roots; shape errors are TRUST_INVALID naming the file. */
export function loadTrustedRootFiles(files: readonly string[]): TrustedRoot[] {
  return files.map(file => loadTrustedRoot(file))
}

export type VerifySignatureMode = 'required' | 'skip'

export interface SignatureSetup {
  /** The checks to hand to verifyArchive (none when signatures are skipped). */
  imageChecks: ImageCheck[]
  /** Said once in the output: why signatures are not checked, or the trust in use. */
  notes: string[]
}

/**
 * Decides the signature part of verify/push from the command line: `skip` = integrity only (said loudly); otherwise
 * a policy is required, and keyless rules need trusted roots (--trusted-root FILE until TUF supplies them).
 */
export function signatureSetup(input: {
  mode: VerifySignatureMode | undefined
  policy: Policy | undefined
  trustedRoots: TrustedRoot[]
}): SignatureSetup {
  if (input.mode === 'skip')
    return {
      imageChecks: [],
      notes: ['WARNING: --signatures skip: signatures and policy were NOT checked (integrity only)'],
    }
  // Like cosign, no policy is not "accept any signer": an integrity-only pass must be asked for by name, so a
  // forgotten flag can never turn into an exit 0 that looks like a full verification.
  if (!input.policy)
    throw new AirlockError('USAGE', 'no signature policy given', {
      hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --key, or --policy FILE; or --signatures skip to check integrity only',
    })
  const keyless = input.policy.rules.some(r => r.action === 'keyless')
  if (keyless && input.trustedRoots.length === 0)
    throw new AirlockError('USAGE', 'keyless verification needs a trusted root', {
      hint: 'pass --trusted-root trusted_root.json (repeatable), or use --key for key-signed images',
    })
  return {imageChecks: [signatureCheck({policy: input.policy, trustedRoots: input.trustedRoots})], notes: []}
}
