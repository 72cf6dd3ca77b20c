// The verifiability forecast (issue 16 item 2): until when an archive verifies offline with the trust material it
// carries. TUF metadata expire; the grace period (--tuf-grace) stretches timestamp and snapshot only, root and targets
// roles are judged strictly (src/trust/expiry.ts), so the forecast applies the same rule to the same expiries:
//   strictUntil = the earliest `expires` of every role verification used,
//   graceUntil  = the earliest of (timestamp/snapshot `expires` + grace) and (root/targets `expires`).
// `--trusted-root` files and `--key` public keys carry no expiry: they are listed in `noExpiry`.
import {GRACE_ROLES, type Grace, formatDuration} from './expiry.ts'

export interface Forecast {
  basis: 'tuf' | 'trusted-root' | 'key' | 'mixed'
  /** ISO-8601: the earliest expiry of the metadata used (null when no expiry applies) */
  strictUntil: string | null
  /** ISO-8601: the last moment verification still passes with the grace period (null when nothing expires) */
  graceUntil: string | null
  /** the metadata whose expiry gives graceUntil, e.g. "TUF tuf-repo-cdn.sigstore.dev timestamp v762" */
  limitedBy: string | null
  /** trust inputs that never expire, e.g. "--trusted-root trusted_root.json", "--key cosign.pub" */
  noExpiry: string[]
  summary: string
}

export interface ForecastInput {
  /** TUF sources used: the mirror and, per accepted role label, its signed `expires` and role type */
  tuf: Array<{mirror: string; expiries: Record<string, string>; expiryKinds: Record<string, string>}>
  grace: Grace
  /** `--trusted-root` files used */
  trustedRootFiles?: string[]
  /** public keys of the policy, as named to the user (`--key cosign.pub`, `policy.yaml rules[0] public key`) */
  keys?: string[]
  /** the reference time the summary words "until" against (default: now) */
  now?: Date
}

const iso = (t: number): string => new Date(t).toISOString()

export function forecast(input: ForecastInput): Forecast {
  const noExpiry = [...(input.trustedRootFiles ?? []).map(f => `--trusted-root ${f}`), ...(input.keys ?? [])]
  const kinds = [
    input.tuf.length > 0 ? 'tuf' : undefined,
    input.trustedRootFiles?.length ? 'trusted-root' : undefined,
    input.keys?.length ? 'key' : undefined,
  ].filter((k): k is Forecast['basis'] => k !== undefined)
  const basis: Forecast['basis'] = kinds.length === 1 ? (kinds[0] as Forecast['basis']) : kinds.length ? 'mixed' : 'key'
  let strict: number | undefined
  let end: {t: number; label: string} | undefined
  for (const source of input.tuf)
    for (const [label, expires] of Object.entries(source.expiries)) {
      const t = Date.parse(expires)
      if (Number.isNaN(t)) continue // refused by the expiry judge before a report exists
      strict = strict === undefined ? t : Math.min(strict, t)
      const graced = GRACE_ROLES.has(source.expiryKinds[label] ?? '')
      const until = !graced ? t : input.grace === 'unlimited' ? Number.POSITIVE_INFINITY : t + input.grace
      if (!end || until < end.t) end = {t: until, label: `TUF ${source.mirror} ${label}`}
    }
  const strictUntil = strict === undefined ? null : iso(strict)
  const graceUntil = end && Number.isFinite(end.t) ? iso(end.t) : null
  const limitedBy = end && Number.isFinite(end.t) ? end.label : null
  return {
    basis,
    strictUntil,
    graceUntil,
    limitedBy,
    noExpiry,
    summary: summarize(strictUntil, graceUntil, limitedBy, noExpiry, input.now ?? new Date()),
  }
}

function summarize(
  strictUntil: string | null,
  graceUntil: string | null,
  limitedBy: string | null,
  noExpiry: string[],
  now: Date,
): string {
  const never = noExpiry.length ? `no expiry: ${noExpiry.join(', ')}` : ''
  if (strictUntil === null) return never || 'no trust material with an expiry'
  const left = (at: string) => {
    const ms = Date.parse(at) - now.getTime()
    return ms > 0 ? `in ${formatDuration(ms)}` : `${formatDuration(ms)} ago`
  }
  const strict = `verifies strictly until ${strictUntil} (${left(strictUntil)})`
  const grace =
    graceUntil === null
      ? 'within the grace period without end (unlimited grace)'
      : graceUntil === strictUntil
        ? `no grace beyond that (${limitedBy} is judged strictly)`
        : `within the grace period until ${graceUntil} (${left(graceUntil)})`
  const after = graceUntil === null ? '' : `; after ${graceUntil} this archive needs a trust refresh`
  return `${strict}, ${grace}${after}${never ? `; ${never}` : ''}`
}
