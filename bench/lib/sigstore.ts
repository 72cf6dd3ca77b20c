// The benchmark's Sigstore side: the test Sigstore instance (test/support/sigstore) that signs the workload's
// legacy `.sig` signatures, and the flags airlock needs to trust it. Returns undefined while the test instance
// is not available, so the transfer benchmarks can run without signatures.
import type {LegacySigner} from './workload.ts'

export interface BenchSigstore {
  signer: LegacySigner
  exportFlags: string[]
  verifyFlags: string[]
  pushFlags: string[]
  /** Arguments of bench/sigverify.ts (after the script name), or undefined when it cannot run yet. */
  sigverifyArgs?: string[]
  close(): Promise<void>
}

export async function setupSigstore(_dir: string): Promise<BenchSigstore | undefined> {
  return undefined
}
