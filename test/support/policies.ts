// Policies for push tests whose subject is not signatures: a `"**"` skip rule (the documented opt-out) makes push's
// verification integrity, structure and bindings only, through the same library call as a signed push.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadPolicy, type Policy} from '../../src/policy/index.ts'

export function skipAllPolicy(): Policy {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-policy-')), 'skip.yaml')
  writeFileSync(file, 'rules:\n  - image: "**"\n    skip: true\n')
  return loadPolicy({policy: file})
}

/** Every image denied: verification fails with POLICY_DENIED. */
export function denyAllPolicy(): Policy {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-policy-')), 'deny.yaml')
  writeFileSync(file, 'rules:\n  - image: "**"\n    deny: true\n')
  return loadPolicy({policy: file})
}

/** The verify/push flags of a keyless policy: this trusted root, exactly this signer identity and OIDC issuer. */
export function keylessFlags(trustedRoot: string, signer: {identity: string; issuer: string}): string[] {
  return [
    '--trusted-root',
    trustedRoot,
    '--certificate-identity',
    signer.identity,
    '--certificate-oidc-issuer',
    signer.issuer,
  ]
}
