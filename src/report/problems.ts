// The problems[] of the --json envelope, derived from any command's result: archive problems, failed image checks,
// failed archive checks, a failed mirror or Talos check. One derivation for every command, so a command added later
// reports its failures without code of its own as long as its result uses these shapes (see CONTRIBUTING.md).
import type {ErrorCode} from '../errors.ts'

export interface EnvelopeProblem {
  code: ErrorCode
  message: string
  hint?: string
  /** what the problem is about: an image reference, an archive entry, a check name */
  subject?: string
}

type Loose = Record<string, unknown>

const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v)
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** The error code a failed check stands for when the check does not carry one itself. */
function checkCode(check: Loose): ErrorCode {
  const details = isObject(check['details']) ? check['details'] : {}
  if (typeof details['code'] === 'string') return details['code'] as ErrorCode
  const subjects = asArray(details['subjects']).filter(isObject)
  const failed = subjects.find(s => s['ok'] === false && typeof s['errorCode'] === 'string')
  if (failed) return failed['errorCode'] as ErrorCode
  switch (check['name']) {
    case 'integrity':
      return 'DIGEST_MISMATCH'
    case 'signatures':
      return 'SIGNATURE_INVALID'
    case 'trust':
      return 'TRUST_INVALID'
    default:
      return 'INTERNAL'
  }
}

function fromChecks(checks: unknown, subject: string | undefined): EnvelopeProblem[] {
  const out: EnvelopeProblem[] = []
  for (const check of asArray(checks).filter(isObject)) {
    if (check['ok'] !== false || check['skipped'] !== undefined) continue
    const code = checkCode(check)
    const reasons = asArray(check['reasons']).filter((r): r is string => typeof r === 'string')
    const name = String(check['name'] ?? 'check')
    // The first reason is the cause; further lines are the detail (every signature tried) and stay in the check.
    out.push({
      code,
      message: `${name}: ${reasons[0] ?? 'failed'}`,
      ...(subject !== undefined ? {subject} : {subject: name}),
    })
  }
  return out
}

/** Every problem a result names, in the order a reader needs them: archive, images, archive checks, mirror. */
export function problemsOf(result: unknown): EnvelopeProblem[] {
  if (!isObject(result)) return []
  const out: EnvelopeProblem[] = []
  for (const p of asArray(result['problems'])) {
    if (typeof p === 'string') out.push({code: 'ARCHIVE_INVALID', message: p})
    else if (isObject(p) && typeof p['message'] === 'string') {
      const subject = p['subject'] ?? p['entry']
      out.push({
        code: (typeof p['code'] === 'string' ? p['code'] : 'ARCHIVE_INVALID') as ErrorCode,
        message: p['message'],
        ...(typeof p['hint'] === 'string' ? {hint: p['hint']} : {}),
        ...(typeof subject === 'string' ? {subject} : {}),
      })
    }
  }
  for (const image of asArray(result['images']).filter(isObject))
    if (image['ok'] === false)
      out.push(...fromChecks(image['checks'], String(image['reference'] ?? image['digest'] ?? 'image')))
  out.push(...fromChecks(result['checks'], undefined))
  // the mirror check (verify --registry: `mirror`, push --check: `check`): each image's problems name it
  for (const key of ['mirror', 'check']) {
    const part = result[key]
    if (!isObject(part) || part['passed'] !== false) continue
    // A delta checked before its push (verify --registry): images listed as `pending` are not pushed yet, which the
    // command reports and exits 0 for; only the images that are in the mirror can fail the check.
    const pending = new Set(asArray(part['pending']).filter((p): p is string => typeof p === 'string'))
    const judged = asArray(part['images'])
      .filter(isObject)
      .filter(image => !(image['notPushed'] === true && pending.has(String(image['source']))))
    if (pending.size > 0 && judged.every(image => asArray(image['problems']).length === 0)) continue
    const before = out.length
    for (const image of judged) {
      const verification = isObject(image['verification']) ? image['verification'] : {}
      const code = (
        typeof verification['errorCode'] === 'string' ? verification['errorCode'] : 'DIGEST_MISMATCH'
      ) as ErrorCode
      for (const line of asArray(image['problems']).filter((p): p is string => typeof p === 'string'))
        out.push({code, message: `mirror check: ${line}`, subject: String(image['target'] ?? key)})
    }
    if (out.length === before)
      out.push({code: 'DIGEST_MISMATCH', message: `mirror check: ${String(part['summary'] ?? 'failed')}`, subject: key})
  }
  const talos = result['talos']
  if (isObject(talos) && talos['passed'] === false)
    out.push({
      code: 'SIGNATURE_INVALID',
      message: 'a Talos publicKey rule for the key would refuse images from the mirror',
      subject: 'talos',
    })
  return out
}
