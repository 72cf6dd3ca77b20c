// TUF expiry judged offline, in process (issue 13 item 5): --tuf-grace values, which roles the grace covers, the
// boundary (expires == now is expired), and the lines verify prints about metadata age.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {DEFAULT_GRACE_MS, ExpiryJudge, formatDuration, graceText, parseGrace} from '../src/trust/expiry.ts'

const DAY = 86_400_000
const NOW = new Date('2026-06-01T00:00:00Z')
const fail = (message: string): never => {
  throw new Error(message)
}

describe('--tuf-grace values', () => {
  it('durations in every unit, days by default, case and spaces forgiven', () => {
    const table: Array<[string, number | 'unlimited']> = [
      ['0', 0],
      ['30d', 30 * DAY],
      ['12h', 12 * 3_600_000],
      ['90m', 90 * 60_000],
      ['1w', 7 * DAY],
      ['1.5d', 1.5 * DAY],
      ['1.25h', 4_500_000],
      ['500ms', 500],
      ['10s', 10_000],
      [' 2D ', 2 * DAY],
      ['1 h', 3_600_000],
      ['7', 7 * DAY],
      ['unlimited', 'unlimited'],
      ['INF', 'unlimited'],
      ['infinity', 'unlimited'],
    ]
    for (const [text, grace] of table) assert.equal(parseGrace(text), grace, text)
    assert.equal(DEFAULT_GRACE_MS, parseGrace('30d'))
  })
  it('anything else is a usage error naming the value', () => {
    for (const text of ['x', '-1d', '1y', '', 'd', '1dd'])
      assert.throws(() => parseGrace(text), {
        code: 'USAGE',
        message: `invalid TUF grace period ${JSON.stringify(text)} (use e.g. 30d, 12h, 0 or unlimited)`,
      })
  })
  it('are shown back as the user would write them', () => {
    assert.equal(graceText(0), '0 (strict)')
    assert.equal(graceText('unlimited'), 'unlimited')
    assert.equal(graceText(30 * DAY), '30d')
    assert.equal(graceText(3_600_000), '1h')
  })
})

describe('formatDuration', () => {
  it('days and hours, hours and minutes, at least a minute for anything past', () => {
    const table: Array<[number, string]> = [
      [0, '0m'],
      [1, '1m'],
      [59_999, '1m'],
      [60_000, '1m'],
      [3_660_000, '1h 1m'],
      [5_400_000, '1h 30m'],
      [3_600_000, '1h'],
      [DAY, '1d'],
      [DAY + 3_600_000, '1d 1h'],
      [DAY + 60_000, '1d'],
      [-5_400_000, '1h 30m'],
    ]
    for (const [ms, text] of table) assert.equal(formatDuration(ms), text, String(ms))
  })
})

describe('ExpiryJudge', () => {
  it('accepts expired timestamp and snapshot within the grace, remembering each expiry', () => {
    const judge = new ExpiryJudge(NOW, 30 * DAY, fail)
    judge.check('timestamp', 'tuf.example timestamp', '2026-05-30T00:00:00Z')
    judge.check('snapshot', 'tuf.example snapshot', '2026-05-31T12:00:00Z')
    judge.check('root', 'tuf.example root v3', '2027-01-01T00:00:00Z')
    judge.check('targets', 'tuf.example targets', '2026-06-01T00:00:00.001Z')
    assert.deepEqual(judge.expiries, {
      'tuf.example timestamp': '2026-05-30T00:00:00Z',
      'tuf.example snapshot': '2026-05-31T12:00:00Z',
      'tuf.example root v3': '2027-01-01T00:00:00Z',
      'tuf.example targets': '2026-06-01T00:00:00.001Z',
    })
    assert.deepEqual(judge.graceRoles, ['tuf.example timestamp', 'tuf.example snapshot'])
    assert.equal(judge.maxExpiredMs, 2 * DAY)
    assert.equal(
      judge.note(),
      'tuf.example timestamp expired 2026-05-30T00:00:00Z (2d before 2026-06-01T00:00:00.000Z); accepted within the 30d grace period',
    )
  })
  it('root and targets are judged strictly whatever the grace', () => {
    for (const kind of ['root', 'targets'])
      assert.throws(() => new ExpiryJudge(NOW, 'unlimited', fail).check(kind, 'L', '2026-05-31T00:00:00Z'), {
        message:
          'L expired 2026-05-31T00:00:00Z (1d ago); root and targets metadata are judged strictly (the grace period covers timestamp and snapshot only)',
      })
  })
  it('past the grace, or with grace 0, a timestamp is refused; expires == now is already expired', () => {
    assert.throws(() => new ExpiryJudge(NOW, 30 * DAY, fail).check('timestamp', 'L', '2026-04-01T00:00:00Z'), {
      message: 'L expired 2026-04-01T00:00:00Z (61d ago), beyond the 30d grace period',
    })
    assert.throws(() => new ExpiryJudge(NOW, 30 * DAY, fail).check('snapshot', 'L', '2026-05-02T00:00:00Z'), {
      message: 'L expired 2026-05-02T00:00:00Z (30d ago), beyond the 30d grace period',
    })
    assert.throws(() => new ExpiryJudge(NOW, 0, fail).check('timestamp', 'L', '2026-06-01T00:00:00Z'), {
      message: 'L expired 2026-06-01T00:00:00Z (0m ago) and expiry is strict (grace 0)',
    })
    const graced = new ExpiryJudge(NOW, DAY, fail)
    graced.check('timestamp', 'L', '2026-06-01T00:00:00Z')
    assert.deepEqual(graced.graceRoles, ['L'])
    assert.equal(
      graced.note(),
      'L expired 2026-06-01T00:00:00Z (0m before 2026-06-01T00:00:00.000Z); accepted within the 1d grace period',
    )
    const judge = new ExpiryJudge(NOW, 0, fail)
    judge.check('timestamp', 'L', '2026-06-01T00:00:00.001Z')
    assert.deepEqual(judge.graceRoles, [])
    assert.equal(judge.maxExpiredMs, 0)
  })
  it('an expiry that is not UTC RFC 3339 is refused', () => {
    for (const expires of ['garbage', '2026-05-31T00:00:00+02:00', '2026-05-31 00:00:00Z', '2026-05-31T00:00:00'])
      assert.throws(() => new ExpiryJudge(NOW, 0, fail).check('targets', 'L', expires), {
        message: `L has an invalid expiry ${JSON.stringify(expires)} (want UTC, e.g. 2030-01-01T00:00:00Z)`,
      })
    const judge = new ExpiryJudge(NOW, 0, fail)
    judge.check('targets', 'L', '2030-01-01T00:00:00.123456789Z')
    assert.equal(judge.expiries['L'], '2030-01-01T00:00:00.123456789Z')
  })
  it('a clock behind the last accepted import is named in every line', () => {
    const clock = new Date('2026-01-01T00:00:00Z')
    const note =
      ' (judged at 2026-06-01T00:00:00.000Z, the time of the last accepted import: the clock says 2026-01-01T00:00:00.000Z)'
    assert.throws(() => new ExpiryJudge(NOW, 0, fail, clock).check('timestamp', 'L', '2026-05-31T00:00:00Z'), {
      message: `L expired 2026-05-31T00:00:00Z (1d ago)${note} and expiry is strict (grace 0)`,
    })
    const judge = new ExpiryJudge(NOW, 0, fail, clock)
    judge.check('root', 'root', '2026-07-01T00:00:00Z')
    assert.equal(judge.note(), `all metadata current; first expiry: root at 2026-07-01T00:00:00Z (in 30d)${note}`)
    const ahead = new ExpiryJudge(NOW, 0, fail, new Date('2027-01-01T00:00:00Z'))
    ahead.check('root', 'root', '2026-07-01T00:00:00Z')
    assert.equal(ahead.note(), 'all metadata current; first expiry: root at 2026-07-01T00:00:00Z (in 30d)')
  })
  it('the note names the stalest role, or the first to expire, and warns about unlimited grace', () => {
    assert.equal(new ExpiryJudge(NOW, 0, fail).note(), 'no expiry to report')
    assert.equal(
      new ExpiryJudge(NOW, 'unlimited', fail).note(),
      'WARNING: unlimited grace: the freshness of timestamp and snapshot is not judged, only the rollback state stops a replayed older repository; no expiry to report',
    )
    const judge = new ExpiryJudge(NOW, 0, fail)
    judge.check('root', 'root', '2026-09-01T00:00:00Z')
    judge.check('targets', 'targets', '2026-06-02T06:00:00Z')
    judge.check('snapshot', 'snapshot', '2026-08-01T00:00:00Z')
    assert.equal(judge.note(), 'all metadata current; first expiry: targets at 2026-06-02T06:00:00Z (in 1d 6h)')
    const stale = new ExpiryJudge(NOW, 'unlimited', fail)
    stale.check('snapshot', 'snapshot', '2026-05-31T00:00:00Z')
    stale.check('timestamp', 'timestamp', '2026-05-01T00:00:00Z')
    assert.equal(stale.maxExpiredMs, 31 * DAY)
    assert.match(stale.note(), /^WARNING: unlimited grace: .*; timestamp expired 2026-05-01T00:00:00Z \(31d before /)
  })
})
