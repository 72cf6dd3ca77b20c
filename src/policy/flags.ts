// The policy flags, cosign-compatible, as oclif flag objects commands spread into their own flags.
import {readFileSync} from 'node:fs'
import {Flags} from '@oclif/core'

/** Identity and key flags (no policy file): what verify-blob takes. */
export const identityFlags = {
  'certificate-identity': Flags.string({
    summary: 'Exact signer identity (certificate SAN) required.',
    helpGroup: 'POLICY',
  }),
  'certificate-identity-regexp': Flags.string({
    summary: 'Signer identity regexp (Go syntax, unanchored search, as cosign).',
    helpGroup: 'POLICY',
  }),
  'certificate-oidc-issuer': Flags.string({
    summary: 'Exact OIDC issuer required in the certificate.',
    helpGroup: 'POLICY',
  }),
  'certificate-oidc-issuer-regexp': Flags.string({
    summary: 'OIDC issuer regexp (Go syntax, unanchored search).',
    helpGroup: 'POLICY',
  }),
  key: Flags.string({
    summary: 'PEM public key for key-signed artifacts (instead of a keyless identity).',
    helpGroup: 'POLICY',
  }),
  'insecure-ignore-tlog': Flags.boolean({
    summary: 'Skip transparency log checks (SET, inclusion proof, checkpoint). Insecure; reported loudly.',
    helpGroup: 'POLICY',
    default: false,
  }),
}

/** Everything policy-related: identity flags, a rules file, and an attestation requirement (export, verify, push). */
export const policyFlags = {
  ...identityFlags,
  policy: Flags.string({
    summary: 'Policy file (YAML or JSON, the shape of Talos ImageVerificationConfig).',
    helpGroup: 'POLICY',
  }),
  'attestation-type': Flags.string({
    summary: 'Also require a valid attestation of this predicate type (slsaprovenance, spdx, cyclonedx, or a URI).',
    helpGroup: 'POLICY',
  }),
  'require-container-identity': Flags.boolean({
    summary:
      "Also require the signed payload to name the image's repository (simple-signing critical.identity.docker-reference, or the in-toto subject name), as written by cosign sign --sign-container-identity.",
    description:
      'Off by default, as in cosign: without it a signed image can be carried under another repository name that the same signer and policy rule cover.',
    helpGroup: 'POLICY',
    relationships: [{type: 'some', flags: ['policy', 'key', 'certificate-identity', 'certificate-identity-regexp']}],
  }),
}

export interface PolicyFlagValues {
  'certificate-identity'?: string | undefined
  'certificate-identity-regexp'?: string | undefined
  'certificate-oidc-issuer'?: string | undefined
  'certificate-oidc-issuer-regexp'?: string | undefined
  key?: string | undefined
  'insecure-ignore-tlog'?: boolean | undefined
  policy?: string | undefined
  'attestation-type'?: string | undefined
  'require-container-identity'?: boolean | undefined
}

/** Reads a --key file (the one file read in this module; policy files are read by file.ts). */
export function readKeyFile(path: string): string {
  return readFileSync(path, 'utf8')
}

/** The flags that make a policy: any of them given means the command verifies signatures under one. */
export const POLICY_FLAG_NAMES = [
  'policy',
  'key',
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
] as const

/** Whether the parsed flags name a policy (the same test for export, verify and push). */
export function policyGiven(flags: object): boolean {
  return POLICY_FLAG_NAMES.some(name => (flags as Record<string, unknown>)[name] !== undefined)
}
