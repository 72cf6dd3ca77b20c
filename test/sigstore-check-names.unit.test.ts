// Which check a @sigstore/verify error belongs to, in process (issue 13 item 5): src/sigstore/checks.ts maps the
// library's error codes (node_modules/@sigstore/verify/dist/error.js and the codes its verifier throws) to the check
// names verify prints. sigstore-checks.unit.test.ts reaches most codes through real failing bundles; the codes the
// test Sigstore instance cannot produce (missing inclusion, too few log entries, unknown codes) are pinned here, with
// the library's own error classes.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {PolicyError, VerificationError} from '@sigstore/verify'
import {checkForError, VERIFIER_ORDER} from '../src/sigstore/checks.ts'

const v = (code: string, message = 'x') => new VerificationError({code: code as never, message})

describe('check names of @sigstore/verify errors', () => {
  it('one check per code; the message only picks between two labels of one code', () => {
    const table: Array<[unknown, string]> = [
      [new PolicyError({code: 'UNTRUSTED_SIGNER_ERROR', message: 'certificate identity error'}), 'identity-policy'],
      [v('TIMESTAMP_ERROR'), 'rfc3161-timestamp'],
      [v('CERTIFICATE_ERROR', 'certificate chain could not be built'), 'certificate-chain'],
      [v('CERTIFICATE_ERROR', 'insufficient SCTs'), 'sct'],
      [v('CERTIFICATE_ERROR', 'SCT verification failed'), 'sct'],
      [v('CERTIFICATE_ERROR', 'SCTS missing'), 'certificate-chain'],
      [v('CERTIFICATE_ERROR', 'subSCT'), 'certificate-chain'],
      [v('PUBLIC_KEY_ERROR'), 'public-key'],
      [v('TLOG_INCLUSION_PROMISE_ERROR'), 'set'],
      [v('TLOG_INCLUSION_PROOF_ERROR', 'invalid checkpoint signature'), 'checkpoint'],
      [v('TLOG_INCLUSION_PROOF_ERROR', 'Checkpoint note malformed'), 'checkpoint'],
      [v('TLOG_INCLUSION_PROOF_ERROR', 'calculated root hash does not match'), 'inclusion-proof'],
      [v('TLOG_MISSING_INCLUSION_ERROR'), 'inclusion-proof'],
      [v('TLOG_BODY_ERROR'), 'tlog-body'],
      [v('TLOG_ERROR', 'not enough tlog entries'), 'tlog'],
      [v('SIGNATURE_ERROR'), 'signature'],
      [v('SOME_NEW_CODE'), 'verification'],
      [new Error('TLOG_ERROR'), 'verification'],
      [Object.assign(new Error('x'), {code: 'SIGNATURE_ERROR'}), 'verification'],
      ['a string', 'verification'],
      [undefined, 'verification'],
    ]
    for (const [error, check] of table)
      assert.equal(
        checkForError(error),
        check,
        error instanceof Error ? `${error.name} ${(error as {code?: string}).code} ${error.message}` : String(error),
      )
  })

  it("the checks are listed in @sigstore/verify's order", () => {
    assert.deepEqual(VERIFIER_ORDER, [
      'rfc3161-timestamp',
      'certificate-chain',
      'public-key',
      'sct',
      'set',
      'inclusion-proof',
      'checkpoint',
      'tlog-body',
      'tlog',
      'signature',
      'identity-policy',
    ])
  })
})
