// The mirror as a Talos node with a publicKey rule sees it (siderolabs/talos internal/pkg/containers/image/verify/
// internal/cosign/cosign.go VerifyImage): (1) referrers API, bundle artifact types only, and if any are found only
// those decide; (2) the `sha256-<hex>` tag, a bundle manifest or an index of them, whose bundle layers decide when
// there are any; (3) the `sha256-<hex>.sig` manifest, every layer tried. Bundles: sigstore-js (@sigstore/verify)
// under the key with no tlog or timestamp required (Talos: Offline, IgnoreTlog) and the statement naming the
// digest (sigstore-go WithArtifactDigest); `.sig` layers: the signature over the payload under the key (SHA-256,
// as Talos's LoadVerifier) and the payload's docker-manifest-digest. Also reads airlock's receipt back.
import type {KeyObject} from 'node:crypto'
import {bundleFromJSON} from '@sigstore/bundle'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {toSignedEntity, toTrustMaterial, Verifier} from '@sigstore/verify'
import {verifyBytes} from '../keys/index.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import {MediaType} from '../oci/media-types.ts'
import {COSIGN_ANNOTATIONS} from '../sigstore/index.ts'
import {attTag, referrersTag, sigTag} from './forms.ts'
import {RECEIPT_PREDICATE} from './payloads.ts'
import {manifestAtTag, readSmallBlob, type CountersignTarget} from './target.ts'

const BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle'
const MAX_LAYERS = 100

export type TalosForm = 'referrers' | 'bundle-tag' | 'legacy-sig'

export interface TalosViewResult {
  digest: string
  verified: boolean
  /** The form that decided: satisfied the rule, or short-circuited the lookup to a failure. */
  form?: TalosForm
  message: string
}

function keyTrust(publicKey: KeyObject) {
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  })
  // Like Talos's SigVerifier: the rule's key is the only key, whatever hint the bundle carries.
  return toTrustMaterial(root, () => ({publicKey, validFor: () => true}))
}

/** A bundle's failure under the key for `digest`, or undefined when it verifies. */
export function bundleFailure(
  bytes: Buffer,
  publicKey: KeyObject,
  digest: Digest,
  predicateType?: string,
): string | undefined {
  let json: {mediaType?: unknown; dsseEnvelope?: {payload?: unknown}}
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return 'the bundle is not JSON'
  }
  if (
    typeof json.mediaType !== 'string' ||
    !/^application\/vnd\.dev\.sigstore\.bundle(\.v0\.3|\+json;version=0\.3)/.test(json.mediaType)
  )
    return `bundle version too old or unknown (${String(json.mediaType)}): Talos needs v0.3`
  if (!json.dsseEnvelope)
    return 'a message-signature bundle: this view checks DSSE statement bundles (what cosign v3 and airlock write)'
  try {
    new Verifier(keyTrust(publicKey), {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0}).verify(
      toSignedEntity(bundleFromJSON(json)),
    )
  } catch (error) {
    return `does not verify under the key (${(error as Error).message})`
  }
  try {
    const statement = JSON.parse(Buffer.from(String(json.dsseEnvelope.payload), 'base64').toString('utf8')) as {
      predicateType?: unknown
      subject?: Array<{digest?: {sha256?: unknown}}>
    }
    if (!statement.subject?.some(s => s?.digest?.sha256 === digestHex(digest)))
      return 'the statement does not name this digest'
    if (predicateType && statement.predicateType !== predicateType)
      return `predicate type ${String(statement.predicateType)}`
    return undefined
  } catch {
    return 'the statement is not JSON'
  }
}

function legacyFailure(payload: Buffer, layer: Descriptor, publicKey: KeyObject, digest: Digest): string | undefined {
  const signature = layer.annotations?.[COSIGN_ANNOTATIONS.signature]
  if (!signature) return 'missing signature annotation'
  if (!verifyBytes(publicKey, payload, Buffer.from(signature, 'base64')))
    return 'signature does not verify under the key'
  try {
    const claims = JSON.parse(payload.toString('utf8')) as {critical?: {image?: {'docker-manifest-digest'?: unknown}}}
    return claims.critical?.image?.['docker-manifest-digest'] === digest
      ? undefined
      : 'the payload names another digest'
  } catch {
    return 'the payload is not JSON'
  }
}

async function tryBundleLayers(
  target: CountersignTarget,
  layers: Descriptor[],
  publicKey: KeyObject,
  digest: Digest,
): Promise<string | undefined> {
  let last = 'no bundle layers'
  for (const layer of layers) {
    const bytes = await readSmallBlob(target, layer).catch(() => undefined)
    if (!bytes) {
      last = `bundle layer ${layer.digest} unreadable`
      continue
    }
    const failure = bundleFailure(bytes, publicKey, digest)
    if (!failure) return undefined
    last = failure
  }
  return last
}

/** Looks `subject` up on the mirror exactly in Talos's order and with its short-circuits. */
export async function talosView(
  target: CountersignTarget,
  subject: Descriptor,
  publicKey: KeyObject,
): Promise<TalosViewResult> {
  const digest = subject.digest
  // 1. Referrers API.
  if ((await target.referrersCapability()) === 'api') {
    const referrers = (await target.referrers(subject, MediaType.SigstoreBundle03)).filter(d =>
      (d.artifactType ?? '').startsWith(BUNDLE_PREFIX),
    )
    if (referrers.length > 0) {
      let last = ''
      for (const referrer of referrers) {
        const manifest = await target.fetchManifest(referrer.digest).catch(() => undefined)
        const layers = manifest?.parsed.kind === 'manifest' ? manifest.parsed.layers : []
        if (layers.length !== 1) {
          last = `referrer ${referrer.digest}: expected exactly one layer, got ${layers.length}`
          continue
        }
        const failure = await tryBundleLayers(target, layers, publicKey, digest)
        if (!failure)
          return {
            digest,
            verified: true,
            form: 'referrers',
            message: `bundle referrer ${referrer.digest} verifies under the key`,
          }
        last = `referrer ${referrer.digest}: ${failure}`
      }
      return {
        digest,
        verified: false,
        form: 'referrers',
        message: `${referrers.length} bundle referrer(s) found through the referrers API and none verifies under the key, so Talos stops there (it never reads the sha256-<hex> index or .sig): ${last}`,
      }
    }
  }
  // 2. The sha256-<hex> tag.
  const tagged = await manifestAtTag(target, referrersTag(digest))
  const bundleLayers: Descriptor[] = []
  if (tagged?.parsed.kind === 'manifest' && tagged.mediaType === MediaType.OciManifest)
    bundleLayers.push(...tagged.parsed.layers.slice(0, MAX_LAYERS).filter(l => l.mediaType.startsWith(BUNDLE_PREFIX)))
  else if (tagged?.parsed.kind === 'index' && tagged.mediaType === MediaType.OciIndex)
    for (const entry of tagged.parsed.manifests.slice(0, MAX_LAYERS)) {
      if (entry.mediaType !== MediaType.OciManifest) continue
      const m = await target.fetchManifest(entry.digest).catch(() => undefined)
      if (m?.parsed.kind === 'manifest')
        bundleLayers.push(...m.parsed.layers.slice(0, MAX_LAYERS).filter(l => l.mediaType.startsWith(BUNDLE_PREFIX)))
    }
  if (bundleLayers.length > 0) {
    const failure = await tryBundleLayers(target, bundleLayers, publicKey, digest)
    if (!failure)
      return {
        digest,
        verified: true,
        form: 'bundle-tag',
        message: `a bundle listed under ${referrersTag(digest)} verifies under the key`,
      }
    return {
      digest,
      verified: false,
      form: 'bundle-tag',
      message: `${bundleLayers.length} bundle(s) under ${referrersTag(digest)} and none verifies under the key, so Talos stops there (it never reads .sig): ${failure}`,
    }
  }
  // 3. The legacy .sig tag.
  const sig = await manifestAtTag(target, sigTag(digest))
  if (!sig)
    return {
      digest,
      verified: false,
      message: 'no signature in any form Talos reads (no bundle referrer, no bundle under sha256-<hex>, no .sig)',
    }
  if (sig.parsed.kind !== 'manifest' || sig.mediaType !== MediaType.OciManifest)
    return {
      digest,
      verified: false,
      form: 'legacy-sig',
      message: `${sigTag(digest)} is ${sig.mediaType}; Talos needs an OCI image manifest`,
    }
  let last = 'no layers'
  for (const layer of sig.parsed.layers.slice(0, MAX_LAYERS)) {
    const payload = await readSmallBlob(target, layer).catch(() => undefined)
    if (!payload) continue
    const failure = legacyFailure(payload, layer, publicKey, digest)
    if (!failure)
      return {digest, verified: true, form: 'legacy-sig', message: `a ${sigTag(digest)} layer verifies under the key`}
    last = failure
  }
  return {
    digest,
    verified: false,
    form: 'legacy-sig',
    message: `no ${sigTag(digest)} layer verifies under the key: ${last}`,
  }
}

export interface ReceiptView {
  found: boolean
  message: string
  statement?: Record<string, unknown>
}

/** airlock's receipt for `subject`, verified under the key, from the .att tag (or the referrers API). */
export async function readReceipt(
  target: CountersignTarget,
  subject: Descriptor,
  publicKey: KeyObject,
): Promise<ReceiptView> {
  const candidates: Buffer[] = []
  const att = await manifestAtTag(target, attTag(subject.digest))
  if (att?.parsed.kind === 'manifest')
    for (const layer of att.parsed.layers)
      if (layer.mediaType === MediaType.DsseEnvelope && layer.annotations?.['predicateType'] === RECEIPT_PREDICATE) {
        const envelope = await readSmallBlob(target, layer).catch(() => undefined)
        // An .att layer holds the bare envelope; wrap it as a v0.3 bundle with a key hint to verify it the same way.
        if (envelope)
          candidates.push(
            Buffer.from(
              JSON.stringify({
                mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
                verificationMaterial: {publicKey: {hint: ''}, tlogEntries: []},
                dsseEnvelope: JSON.parse(envelope.toString('utf8')),
              }),
            ),
          )
      }
  for (const bundle of candidates) {
    if (bundleFailure(bundle, publicKey, subject.digest, RECEIPT_PREDICATE)) continue
    const envelope = (JSON.parse(bundle.toString('utf8')) as {dsseEnvelope: {payload: string}}).dsseEnvelope
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<string, unknown>
    const p = statement['predicate'] as {
      verifiedAt?: string
      upstreamSignature?: {identity?: string; issuer?: string; logIndex?: string}
      archive?: {sha256?: string}
      policy?: {sha256?: string}
    }
    const who = p.upstreamSignature?.identity
      ? `${p.upstreamSignature.identity} (issuer ${p.upstreamSignature.issuer})`
      : 'a key'
    return {
      found: true,
      statement,
      message: `receipt: verified at the gap ${p.verifiedAt ?? '?'}: upstream signer ${who}${p.upstreamSignature?.logIndex ? `, log index ${p.upstreamSignature.logIndex}` : ''}; archive sha256:${(p.archive?.sha256 ?? '').slice(0, 16)}…, policy sha256:${(p.policy?.sha256 ?? '').slice(0, 16)}…`,
    }
  }
  return {found: false, message: 'receipt: none signed by this key'}
}
