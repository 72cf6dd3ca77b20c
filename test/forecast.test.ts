// The verifiability forecast (issue 16 item 2) from a generated TUF repository whose metadata expire at known times:
// the dates are the carried `expires` plus the grace exactly (timestamp/snapshot), root and targets strictly.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {forecast} from '../src/trust/forecast.ts'
import {parseGrace, verifyTufOffline} from '../src/trust/index.ts'
import {TestTufRepo} from './support/tuf-repo.ts'

const DAY = 86_400_000
const NOW = new Date('2026-03-01T12:00:00Z')
const repos: TestTufRepo[] = []
after(() => {
  for (const r of repos) r.remove()
})

/** A repository published at NOW: timestamp +1 day, snapshot +7 days, targets and team +90 days, root +365 days. */
function repository(): TestTufRepo {
  const repo = new TestTufRepo({now: NOW, rootVersions: 2})
  repos.push(repo)
  return repo
}

function verified(repo: TestTufRepo, grace: string, now = NOW) {
  return verifyTufOffline({
    files: repo.archiveFiles(),
    pinnedRoot: repo.pinnedRoot(),
    mirrorId: 'tuf.example',
    grace: parseGrace(grace),
    now,
    state: false,
  }).report
}

describe('verifiability forecast', () => {
  it('strictUntil is the earliest carried expiry; graceUntil adds the grace to timestamp/snapshot exactly', () => {
    const repo = repository()
    const report = verified(repo, '10d')
    const timestampExpires = report.expiries[`timestamp v${repo.versions.timestamp}`]!
    assert.equal(timestampExpires, '2026-03-02T12:00:00Z')
    const f = forecast({tuf: [report], grace: parseGrace('10d'), now: NOW})
    assert.equal(f.basis, 'tuf')
    assert.equal(f.strictUntil, new Date(Date.parse(timestampExpires)).toISOString())
    // timestamp + 10 d = 03-12, snapshot + 10 d = 03-18, targets (strict) = 05-30: the timestamp limits it
    assert.equal(f.graceUntil, new Date(Date.parse(timestampExpires) + 10 * DAY).toISOString())
    assert.equal(f.limitedBy, `TUF tuf.example timestamp v${repo.versions.timestamp}`)
    assert.deepEqual(f.noExpiry, [])
    assert.match(
      f.summary,
      /^verifies strictly until 2026-03-02T12:00:00\.000Z \(in 1d\), within the grace period until 2026-03-12T12:00:00\.000Z \(in 11d\); after 2026-03-12T12:00:00\.000Z this archive needs a trust refresh$/,
    )
  })

  it('root and targets are never stretched: a long grace ends at the targets expiry', () => {
    const repo = repository()
    const report = verified(repo, '200d')
    const targets = report.expiries[`targets v${repo.versions.targets}`]!
    const f = forecast({tuf: [report], grace: parseGrace('200d'), now: NOW})
    assert.equal(f.graceUntil, new Date(Date.parse(targets)).toISOString())
    assert.equal(new Date(Date.parse(targets)).toISOString(), new Date(NOW.getTime() + 90 * DAY).toISOString())
    assert.match(f.limitedBy!, /^TUF tuf\.example (targets|team) v1$/)
  })

  it('a delegated role named like an online role is still judged strictly (the role type decides, not the name)', () => {
    const f = forecast({
      tuf: [
        {
          mirror: 'm',
          expiries: {'snapshot v3': '2026-04-01T00:00:00Z', 'timestamp v9': '2026-03-01T00:00:00Z'},
          expiryKinds: {'snapshot v3': 'targets', 'timestamp v9': 'timestamp'},
        },
      ],
      grace: 60 * DAY,
      now: NOW,
    })
    assert.equal(f.graceUntil, '2026-04-01T00:00:00.000Z')
    assert.equal(f.limitedBy, 'TUF m snapshot v3')
  })

  it('grace 0: both dates are the earliest expiry', () => {
    const report = verified(repository(), '0')
    const f = forecast({tuf: [report], grace: 0, now: NOW})
    assert.equal(f.strictUntil, f.graceUntil)
    assert.match(f.summary, /no grace beyond that/)
  })

  it('unlimited grace: the end is the earliest root/targets expiry', () => {
    const report = verified(repository(), '30d')
    const f = forecast({tuf: [report], grace: 'unlimited', now: NOW})
    assert.equal(f.graceUntil, new Date(NOW.getTime() + 90 * DAY).toISOString())
  })

  it('metadata accepted within the grace: strictUntil lies in the past and says so', () => {
    const repo = repository()
    const later = new Date(NOW.getTime() + 3 * DAY)
    const report = verified(repo, '30d', later)
    assert.equal(report.graceUsed, true)
    const f = forecast({tuf: [report], grace: parseGrace('30d'), now: later})
    assert.equal(f.strictUntil, '2026-03-02T12:00:00.000Z')
    assert.equal(f.graceUntil, '2026-04-01T12:00:00.000Z')
    assert.match(f.summary, /verifies strictly until 2026-03-02T12:00:00\.000Z \(2d ago\)/)
  })

  it('--key and --trusted-root have no expiry: listed in noExpiry, no dates', () => {
    const key = forecast({tuf: [], grace: 30 * DAY, keys: ['--key cosign.pub']})
    assert.deepEqual(key, {
      basis: 'key',
      strictUntil: null,
      graceUntil: null,
      limitedBy: null,
      noExpiry: ['--key cosign.pub'],
      summary: 'no expiry: --key cosign.pub',
    })
    const file = forecast({tuf: [], grace: 30 * DAY, trustedRootFiles: ['trusted_root.json']})
    assert.equal(file.basis, 'trusted-root')
    assert.deepEqual(file.noExpiry, ['--trusted-root trusted_root.json'])
    assert.equal(file.strictUntil, null)
  })

  it('TUF plus a --trusted-root file: mixed, dates from TUF, the file listed', () => {
    const report = verified(repository(), '10d')
    const f = forecast({tuf: [report], grace: parseGrace('10d'), trustedRootFiles: ['extra.json'], now: NOW})
    assert.equal(f.basis, 'mixed')
    assert.equal(f.graceUntil, '2026-03-12T12:00:00.000Z')
    assert.deepEqual(f.noExpiry, ['--trusted-root extra.json'])
    assert.match(f.summary, /; no expiry: --trusted-root extra\.json$/)
  })
})
