// The repository's example images as CLI tests use them: fixtures/example-signatures (a real keyless signature by
// release@example.test, with its trusted root) and the unsigned fixtures/example, and the two archives the output
// and report tests start from, exported through the CLI without TUF or Rekor.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {ROOT, runCli} from './cli.ts'
import {keylessFlags} from './policies.ts'

export const EXAMPLE_SIGNATURES = join(ROOT, 'fixtures/example-signatures')
/** The signed example image. */
export const SIGNED = `oci:${EXAMPLE_SIGNATURES}/oci-layout:registry.example.test/airlock/hello:v1`
/** The unsigned example image. */
export const UNSIGNED = `oci:${join(ROOT, 'fixtures/example')}:example.com/demo/hello:1.0`
/** The keyless policy SIGNED meets, with its trusted root. */
export const EXAMPLE_POLICY = keylessFlags(join(EXAMPLE_SIGNATURES, 'trusted_root.json'), {
  identity: 'release@example.test',
  issuer: 'https://accounts.example.test',
})

/**
 * DIR/signed.tar (SIGNED, its signature checked against EXAMPLE_POLICY at export) and DIR/two.tar (SIGNED and
 * UNSIGNED, signatures optional), exported concurrently; asserts both exports succeed.
 */
export async function exportExampleArchives(dir: string): Promise<{signed: string; two: string}> {
  const signed = join(dir, 'signed.tar')
  const two = join(dir, 'two.tar')
  const [a, b] = await Promise.all([
    runCli(['export', '--no-tuf', '--no-rekor', '-o', signed, ...EXAMPLE_POLICY, SIGNED]),
    runCli(['export', '--no-tuf', '--no-rekor', '--signatures', 'optional', '-o', two, SIGNED, UNSIGNED]),
  ])
  assert.equal(a.status, 0, a.stderr)
  assert.equal(b.status, 0, b.stderr)
  return {signed, two}
}
