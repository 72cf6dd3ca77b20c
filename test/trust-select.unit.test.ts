// Trusted-root selection in process (issue 13 item 5), the refusals test/trust-select.test.ts leaves to the CLI tests:
// a mirror's own reason when nothing else can stand in for it, mirrors judged in name order, and --trusted-root files
// (the public-good trusted_root.json from /work/shared/corpora/sigstore+root-signing) standing in for broken TUF data.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {selectTrustedRoots} from '../src/trust/select.ts'
import type {TrustedRootFileReport} from '../src/trust/trusted-root-file.ts'

const TRUSTED_ROOT = '/work/shared/corpora/sigstore+root-signing/targets/trusted_root.json'
const noFiles = () => new Map<string, Buffer>()

describe('selectTrustedRoots', () => {
  it('without --trusted-root, a mirror that cannot be verified fails with its own reason and hint', () => {
    assert.throws(() => selectTrustedRoots({mirrors: new Map([['tuf.example.com', noFiles()]]), state: false}), {
      code: 'TRUST_INVALID',
      message: 'TUF tuf.example.com: no pinned root for this mirror',
      hint: 'pass --tuf-root <root.json> for tuf.example.com',
    })
  })

  it('no TUF data and no --trusted-root: says how to get a trusted root', () => {
    assert.throws(() => selectTrustedRoots({mirrors: new Map(), state: false}), {
      code: 'TRUST_INVALID',
      message: 'the archive carries no TUF repository to take a trusted root from',
      hint: 'export with TUF (the default), or pass --trusted-root FILE to use a trusted root managed by hand',
    })
  })

  it('with --trusted-root, broken mirrors are skipped in name order and the files used as given', () => {
    const mirrors = new Map([
      ['zeta.example', noFiles()],
      ['alpha.example', noFiles()],
      ['mid.example', noFiles()],
    ])
    const {sources, skipped} = selectTrustedRoots({
      mirrors,
      trustedRootFiles: [TRUSTED_ROOT, TRUSTED_ROOT],
      state: false,
    })
    assert.deepEqual(
      skipped,
      ['alpha.example', 'mid.example', 'zeta.example'].map(m => ({
        mirror: m,
        reason: `TUF ${m}: no pinned root for this mirror`,
      })),
    )
    assert.deepEqual(
      sources.map(s => [s.kind, s.name]),
      [
        ['file', TRUSTED_ROOT],
        ['file', TRUSTED_ROOT],
      ],
    )
    assert.deepEqual(sources[0]!.trustedRoot, readFileSync(TRUSTED_ROOT))
    assert.equal((sources[0]!.report as TrustedRootFileReport).tuf, false)
    assert.equal('nextState' in sources[0]!, false)
  })

  it('an error that is not about the TUF data (a usage error) is never skipped, --trusted-root or not', () => {
    const mirrors = new Map([['tuf.example.com', noFiles()]])
    const pinned = readFileSync('/work/shared/corpora/sigstore+root-signing/metadata/root.json')
    assert.throws(
      () =>
        selectTrustedRoots({
          mirrors,
          pinnedRoots: new Map([['tuf.example.com', pinned]]),
          trustedRootFiles: [TRUSTED_ROOT],
          grace: -1,
          state: false,
        }),
      {code: 'USAGE', message: 'invalid TUF grace period -1'},
    )
  })

  it('a pinned root given for a mirror is used: bad metadata is then its failure, not a missing root', () => {
    const mirrors = new Map([['tuf.example.com', new Map([['metadata/timestamp.json', Buffer.from('{}')]])]])
    const pinned = readFileSync('/work/shared/corpora/sigstore+root-signing/metadata/root.json')
    const {skipped} = selectTrustedRoots({
      mirrors,
      pinnedRoots: new Map([['tuf.example.com', pinned]]),
      trustedRootFiles: [TRUSTED_ROOT],
      state: false,
    })
    assert.equal(skipped.length, 1)
    assert.match(skipped[0]!.reason, /^TUF tuf\.example\.com: /)
    assert.doesNotMatch(skipped[0]!.reason, /no pinned root/)
  })
})
