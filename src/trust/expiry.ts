// Expiry of TUF metadata offline (issue 19): the grace period covers the short-lived online roles (timestamp,
// snapshot) only; root and targets metadata are judged strictly. The reference time is the later of the clock and
// the last accepted import, so a clock set back cannot revive metadata.
import {AirlockError} from '../errors.ts'

export const DEFAULT_GRACE_MS = 30 * 24 * 60 * 60 * 1000

export type Grace = number | 'unlimited'

/** The roles whose expiry the grace covers: their lifetimes are days, an archive's trip is weeks. */
export const GRACE_ROLES = new Set(['timestamp', 'snapshot'])

/** RFC 3339 in UTC with `Z`, as the spec writes `expires`; anything else (local time, offsets) is refused. */
const UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms)
  const d = Math.floor(abs / 86_400_000)
  const h = Math.floor((abs % 86_400_000) / 3_600_000)
  const m = Math.floor((abs % 3_600_000) / 60_000)
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`
  return `${Math.max(m, abs > 0 ? 1 : 0)}m`
}

/** Parses `--tuf-grace`: `0`, `unlimited`, or a duration like `30d`, `12h`, `90m`, `1w`. */
export function parseGrace(text: string): Grace {
  const t = text.trim().toLowerCase()
  if (t === 'unlimited' || t === 'inf' || t === 'infinity') return 'unlimited'
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(t)
  if (!m)
    throw new AirlockError(
      'USAGE',
      `invalid TUF grace period ${JSON.stringify(text)} (use e.g. 30d, 12h, 0 or unlimited)`,
    )
  const unit = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}[(m[2] ?? 'd') as 'd']
  return Math.round(Number(m[1]) * unit)
}

export function graceText(grace: Grace): string {
  return grace === 'unlimited' ? 'unlimited' : grace === 0 ? '0 (strict)' : formatDuration(grace)
}

/** Judges the expiry of every role used, remembering what the report says about it. */
export class ExpiryJudge {
  readonly now: Date
  readonly grace: Grace
  readonly expiries: Record<string, string> = {}
  /** the TUF role type (root, timestamp, snapshot, targets) of every label in `expiries` (the forecast needs it) */
  readonly kinds: Record<string, string> = {}
  /** labels of the roles accepted only thanks to the grace, in the order they were judged */
  readonly graceRoles: string[] = []
  maxExpiredMs = 0
  private stalest: {label: string; expires: string; past: number} | undefined
  private readonly fail: (message: string) => never

  private readonly clockNote: string

  /** `clock`: the wall clock, when `now` was raised to the time of the last accepted import (the clock was behind). */
  constructor(now: Date, grace: Grace, fail: (message: string) => never, clock?: Date) {
    this.now = now
    this.grace = grace
    this.fail = fail
    this.clockNote =
      clock && clock.getTime() < now.getTime()
        ? ` (judged at ${now.toISOString()}, the time of the last accepted import: the clock says ${clock.toISOString()})`
        : ''
  }

  /** `kind` is the role's type (root, timestamp, snapshot, targets); delegated roles are `targets`. */
  check(kind: string, label: string, expires: string): void {
    const t = UTC.test(expires) ? Date.parse(expires) : Number.NaN
    if (Number.isNaN(t))
      this.fail(`${label} has an invalid expiry ${JSON.stringify(expires)} (want UTC, e.g. 2030-01-01T00:00:00Z)`)
    this.expiries[label] = expires
    this.kinds[label] = kind
    const past = this.now.getTime() - t
    if (!this.stalest || past > this.stalest.past) this.stalest = {label, expires, past}
    if (past < 0) return // `expires == now` is expired, as tuf-js's isExpired
    const ago = `${label} expired ${expires} (${formatDuration(past)} ago)${this.clockNote}`
    if (!GRACE_ROLES.has(kind))
      this.fail(
        `${ago}; root and targets metadata are judged strictly (the grace period covers timestamp and snapshot only)`,
      )
    if (this.grace !== 'unlimited' && past >= this.grace)
      this.fail(
        this.grace === 0
          ? `${ago} and expiry is strict (grace 0)`
          : `${ago}, beyond the ${formatDuration(this.grace)} grace period`,
      )
    this.graceRoles.push(label)
    this.maxExpiredMs = Math.max(this.maxExpiredMs, past)
  }

  /** One line on metadata age: how far past its expiry the stalest role is, or when the first one expires. */
  note(): string {
    const s = this.stalest
    let note = 'no expiry to report'
    if (s && s.past >= 0)
      note = `${s.label} expired ${s.expires} (${formatDuration(s.past)} before ${this.now.toISOString()}); accepted within the ${graceText(this.grace)} grace period`
    else if (s) note = `all metadata current; first expiry: ${s.label} at ${s.expires} (in ${formatDuration(-s.past)})`
    note += this.clockNote
    if (this.grace === 'unlimited')
      note = `WARNING: unlimited grace: the freshness of timestamp and snapshot is not judged, only the rollback state stops a replayed older repository; ${note}`
    return note
  }
}
