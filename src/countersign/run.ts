// Countersigning after a verification that passed, against the mirror: the plan from the report (from-verify.ts),
// each image's digests resolved in the mirror (they must be there: countersigning never pushes image content),
// then the signatures (countersign.ts). Used by `push --countersign-key` and `airlock countersign`.
import {AirlockError} from '../errors.ts'
import type {SigningKey} from '../keys/index.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {KeyObject} from 'node:crypto'
import {mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import type {Verdict} from '../verify/verdict.ts'
import {countersignImages, type CountersignedImage, type CountersignJob, type CountersignReport} from './countersign.ts'
import {planCountersign} from './from-verify.ts'
import type {CountersignTarget} from './target.ts'
import {readReceipt, talosView, type TalosViewResult} from './talos-view.ts'
import type {VerificationRecord} from './types.ts'

export interface RunCountersignOptions {
  verdict: Verdict
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  key: SigningKey
  record: VerificationRecord
  onImage?: (image: CountersignedImage) => void
}

/** The mirror's own descriptor of `digest` (media type and size), or a clear error when it does not hold it. */
async function inMirror(target: CountersignTarget, digest: string, reference: string): Promise<Descriptor> {
  let descriptor: Descriptor
  try {
    descriptor = await target.resolve(digest)
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'NOT_FOUND')
      throw new AirlockError(
        'NOT_FOUND',
        `${reference}: ${target.name}@${digest} is not in the mirror; nothing was signed`,
        {hint: 'push the archive first (airlock push), then countersign'},
      )
    throw error
  }
  if (descriptor.digest !== digest)
    throw new AirlockError('DIGEST_MISMATCH', `${target.name}@${digest}: the mirror answered for ${descriptor.digest}`)
  return descriptor
}

export async function runCountersign(options: RunCountersignOptions): Promise<CountersignReport> {
  const plan = planCountersign(
    options.verdict,
    options.target,
    options.keepHost === undefined ? {} : {keepHost: options.keepHost},
  )
  const jobs: CountersignJob[] = []
  // Every digest is checked in the mirror before the first signature is written.
  for (const {image, repository} of plan.images) {
    const target = options.client.repository(parseReference(`${options.target.registry}/${repository}`))
    const root = await inMirror(target, image.root.digest, image.reference)
    const platforms: Descriptor[] = []
    for (const p of image.platforms) platforms.push(await inMirror(target, p.digest, image.reference))
    jobs.push({image: {...image, root, platforms}, target})
  }
  return countersignImages({
    key: options.key,
    jobs,
    notSigned: plan.notSigned,
    record: options.record,
    ...(options.onImage ? {onImage: options.onImage} : {}),
  })
}

/** One line per image for the terminal. */
export function renderCountersign(report: CountersignReport): string[] {
  const lines: string[] = []
  for (const image of report.signed) {
    const wrote = image.subjects.filter(
      s => s.referrer === 'written' || s.fallbackIndex === 'written' || s.sig === 'written',
    ).length
    const receipt =
      image.receipt.referrer === 'written' || image.receipt.att === 'written'
        ? 'receipt written'
        : 'receipt already there'
    lines.push(
      `countersigned ${image.reference} -> ${image.target}: ${image.subjects.length} digest(s) (${wrote ? `${wrote} newly signed` : 'all already signed'}: bundle referrer, sha256-<hex> index, .sig layer); ${receipt}`,
    )
  }
  for (const image of report.notSigned) lines.push(`NOT countersigned ${image.reference}: ${image.reason}`)
  lines.push(
    `countersign: ${report.signed.length} image(s) signed with key ${report.keyHint.slice(0, 16)}…, ${report.written} signature(s)/receipt(s) written, ${report.notSigned.length} not signed`,
  )
  return lines
}

export interface TalosMirrorView {
  passed: boolean
  images: Array<{reference: string; target: string; subjects: TalosViewResult[]; receipt: string}>
}

/**
 * `verify --registry --talos-key` / `push --check`: every digest of every archived image (index and platform
 * manifests) looked up on the mirror in Talos's order under the key, and the receipt read back.
 */
export async function talosMirrorView(options: {
  verdict: Verdict
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  publicKey: KeyObject
}): Promise<TalosMirrorView> {
  const images: TalosMirrorView['images'] = []
  for (const image of options.verdict.images) {
    const ref = parseReference(image.reference)
    const repository = mapRepository(ref, options.target, {keepHost: options.keepHost ?? false})
    const target = options.client.repository(parseReference(`${options.target.registry}/${repository}`))
    const digests = [image.root.digest, ...image.children.map(c => c.digest)]
    const subjects: TalosViewResult[] = []
    let root: Descriptor | undefined
    for (const digest of digests) {
      let descriptor: Descriptor
      try {
        descriptor = await target.resolve(digest)
      } catch (error) {
        subjects.push({digest, verified: false, message: `not in the mirror (${(error as Error).message})`})
        continue
      }
      root ??= descriptor
      subjects.push(await talosView(target, descriptor, options.publicKey))
    }
    const receipt = root
      ? (await readReceipt(target, root, options.publicKey)).message
      : 'receipt: image not in the mirror'
    images.push({reference: image.reference, target: target.name, subjects, receipt})
  }
  return {passed: images.every(i => i.subjects.every(s => s.verified)), images}
}

const FORM_NAMES: Record<string, string> = {
  referrers: 'bundle referrer (referrers API)',
  'bundle-tag': 'bundle under the sha256-<hex> tag',
  'legacy-sig': '.sig layer',
}

export function renderTalosView(view: TalosMirrorView): string[] {
  const lines: string[] = []
  for (const image of view.images) {
    for (const s of image.subjects)
      lines.push(
        `talos: ${s.verified ? 'ok    ' : 'FAILED'} ${image.reference} @${s.digest.slice(0, 19)}: ${s.verified ? `satisfied by the ${FORM_NAMES[s.form!]}` : s.message}`,
      )
    lines.push(`talos:        ${image.reference}: ${image.receipt}`)
  }
  const failed = view.images.flatMap(i => i.subjects.filter(s => !s.verified)).length
  lines.push(
    failed === 0
      ? `talos: ok: a Talos publicKey rule for this key accepts every digest of ${view.images.length} image(s)`
      : `talos: FAILED: a Talos publicKey rule for this key would refuse ${failed} digest(s)`,
  )
  return lines
}
