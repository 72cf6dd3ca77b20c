// The benchmark's Sigstore side: the test Sigstore instance (test/support/sigstore, Rekor API on loopback) signs
// the workload's legacy `.sig` signatures; its trusted_root.json and identity are what airlock is told to trust.
// The flags each airlock command gets are decided here, in one place, as the commands grow them.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createTestSigstore, DEFAULT_IDENTITY, DEFAULT_ISSUER} from '../../test/support/sigstore/index.ts'
import type {LegacySigner} from './workload.ts'

export interface BenchSigstore {
  signer: LegacySigner
  trustedRootFile: string
  exportFlags: string[]
  verifyFlags: string[]
  pushFlags: string[]
  /** Arguments of bench/sigverify.ts (after the script name). */
  sigverifyArgs: string[]
  close(): Promise<void>
}

export async function setupSigstore(dir: string): Promise<BenchSigstore> {
  const ss = await createTestSigstore()
  mkdirSync(dir, {recursive: true})
  const trustedRootFile = join(dir, 'trusted_root.json')
  writeFileSync(trustedRootFile, ss.trustedRootJSON())
  const policy = [
    '--certificate-identity',
    DEFAULT_IDENTITY,
    '--certificate-oidc-issuer',
    DEFAULT_ISSUER,
    '--trusted-root',
    trustedRootFile,
  ]
  return {
    signer: async payload => ss.signCosignLegacy(payload).annotations,
    trustedRootFile,
    // --no-tuf: the TUF chain (a few KB, fetched once) would come from the public-good mirror, unreachable here
    exportFlags: [...policy, '--no-tuf'],
    verifyFlags: [...policy],
    pushFlags: [...policy],
    sigverifyArgs: [],
    close: () => ss.stop(),
  }
}
