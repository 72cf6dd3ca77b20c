// An independent re-implementation, for tests, of how a Talos node looks up and checks an image signature under a
// publicKey rule, written from siderolabs/talos internal/pkg/containers/image/verify/internal/cosign/cosign.go
// (VerifyImage) and verify.go (publicKey rule -> cosign CheckOpts{Offline, SigVerifier(pub, SHA256)}):
//   1. referrers API, filtered to artifactType bundle v0.3; referrers whose artifactType starts with
//      application/vnd.dev.sigstore.bundle; each must be a manifest with exactly one layer holding a bundle >= v0.3.
//      If ANY such referrer exists, only those are tried: success or failure ends the lookup (short-circuit).
//   2. the `sha256-<hex>` tag: an OCI manifest (its bundle-typed layers) or an OCI index (each OCI manifest entry's
//      bundle-typed layers). If bundle layers are found, they decide (success or failure ends the lookup).
//   3. the `sha256-<hex>.sig` tag: must be an OCI manifest; every layer is tried as a cosign simple-signing
//      signature (payload = the layer, signature = annotation dev.cosignproject.cosign/signature).
// Bundles are verified with @sigstore/verify (key trust material, no tlog or timestamp required, as Offline +
// IgnoreTlog), the statement must name the image digest (sigstore-go WithArtifactDigest); legacy layers with raw
// node:crypto verify (SHA-256) and the payload's docker-manifest-digest. It shares no code with src/.
import {createPublicKey, verify as cryptoVerify, type KeyObject} from 'node:crypto'
import {bundleFromJSON} from '@sigstore/bundle'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {toSignedEntity, toTrustMaterial, Verifier} from '@sigstore/verify'

const BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle'
const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const ACCEPT = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ')

export type TalosForm = 'referrers' | 'bundle-tag' | 'legacy-sig'

export interface TalosLookup {
  verified: boolean
  /** The form that decided (satisfied the rule, or short-circuited to a failure); undefined when none was found. */
  form?: TalosForm
  message: string
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

async function get(url: string, accept?: string): Promise<{status: number; type: string; body: Buffer}> {
  const res = await fetch(url, accept ? {headers: {Accept: accept}} : {})
  return {status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer())}
}

function emptyTrust(publicKey: KeyObject) {
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  })
  // Talos's SigVerifier ignores the bundle's key hint: the rule's key is the only key.
  return toTrustMaterial(root, () => ({publicKey, validFor: () => true}))
}

export class TalosChecker {
  readonly base: string
  readonly publicKey: KeyObject
  constructor(registryUrl: string, publicKeyPem: string) {
    this.base = registryUrl
    this.publicKey = createPublicKey(publicKeyPem)
  }

  private async manifest(
    repository: string,
    reference: string,
  ): Promise<{type: string; json: {layers?: Descriptor[]; manifests?: Descriptor[]; mediaType?: string}} | undefined> {
    const r = await get(`${this.base}/v2/${repository}/manifests/${reference}`, ACCEPT)
    if (r.status === 404) return undefined
    if (r.status !== 200) throw new Error(`GET manifest ${repository}:${reference}: ${r.status}`)
    return {type: r.type.split(';')[0]!.trim(), json: JSON.parse(r.body.toString('utf8'))}
  }

  private async blob(repository: string, digest: string): Promise<Buffer> {
    const r = await get(`${this.base}/v2/${repository}/blobs/${digest}`)
    if (r.status !== 200) throw new Error(`GET blob ${digest}: ${r.status}`)
    return r.body
  }

  /** cosign.VerifyNewBundle with a key verifier and WithArtifactDigest(sha256, image digest). */
  verifyBundle(bundleBytes: Buffer, imageDigest: string): string | undefined {
    let json: {mediaType?: string; dsseEnvelope?: {payload?: string}}
    try {
      json = JSON.parse(bundleBytes.toString('utf8'))
    } catch {
      return 'bundle is not JSON'
    }
    if (json.mediaType !== BUNDLE_V03) return `bundle version too old or unknown (${json.mediaType})`
    try {
      const bundle = bundleFromJSON(json)
      const verifier = new Verifier(emptyTrust(this.publicKey), {
        tlogThreshold: 0,
        ctlogThreshold: 0,
        timestampThreshold: 0,
      })
      verifier.verify(toSignedEntity(bundle))
    } catch (error) {
      return `bundle does not verify under the key: ${(error as Error).message}`
    }
    const statement = JSON.parse(Buffer.from(json.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as {
      subject?: Array<{digest?: {sha256?: string}}>
    }
    const hex = imageDigest.replace(/^sha256:/, '')
    if (!statement.subject?.some(s => s.digest?.sha256 === hex))
      return 'bundle statement does not name the image digest'
    return undefined
  }

  /** cosign.VerifyImageSignature for a key-signed legacy layer (Offline, IgnoreTlog): signature, then claims. */
  verifyLegacy(payload: Buffer, signatureB64: string | undefined, imageDigest: string): string | undefined {
    if (!signatureB64) return 'missing signature annotation'
    const hash = this.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256'
    let ok = false
    try {
      ok = cryptoVerify(hash, payload, this.publicKey, Buffer.from(signatureB64, 'base64'))
    } catch {
      ok = false
    }
    if (!ok) return 'signature does not verify under the key'
    const claims = JSON.parse(payload.toString('utf8')) as {critical?: {image?: {'docker-manifest-digest'?: string}}}
    if (claims.critical?.image?.['docker-manifest-digest'] !== imageDigest) return 'payload names another digest'
    return undefined
  }

  async check(repository: string, imageDigest: string): Promise<TalosLookup> {
    const hex = imageDigest.replace(/^sha256:/, '')
    // Step 1: referrers API.
    const r = await get(
      `${this.base}/v2/${repository}/referrers/${imageDigest}?artifactType=${encodeURIComponent(BUNDLE_V03)}`,
      OCI_INDEX,
    )
    if (r.status === 200 && r.type.startsWith(OCI_INDEX)) {
      const refs = ((JSON.parse(r.body.toString('utf8')) as {manifests?: Descriptor[]}).manifests ?? []).filter(d =>
        (d.artifactType ?? '').startsWith(BUNDLE_PREFIX),
      )
      if (refs.length > 0) {
        let last = ''
        for (const ref of refs) {
          const m = await this.manifest(repository, ref.digest)
          const layers = m?.json.layers ?? []
          if (layers.length !== 1) {
            last = `expected exactly one layer in bundle manifest, got ${layers.length}`
            continue
          }
          const failure = this.verifyBundle(await this.blob(repository, layers[0]!.digest), imageDigest)
          if (!failure)
            return {
              verified: true,
              form: 'referrers',
              message: `verified via bundle referrer with digest ${ref.digest}`,
            }
          last = failure
        }
        return {verified: false, form: 'referrers', message: `no valid bundle referrer: ${last}`}
      }
    }
    // Step 2: the bundle tag sha256-<hex>.
    const tagged = await this.manifest(repository, `sha256-${hex}`)
    const bundleLayers: Descriptor[] = []
    if (tagged?.type === OCI_MANIFEST)
      bundleLayers.push(...(tagged.json.layers ?? []).filter(l => l.mediaType.startsWith(BUNDLE_PREFIX)))
    else if (tagged?.type === OCI_INDEX)
      for (const entry of tagged.json.manifests ?? []) {
        if (entry.mediaType !== OCI_MANIFEST) continue
        const m = await this.manifest(repository, entry.digest).catch(() => undefined)
        bundleLayers.push(...(m?.json.layers ?? []).filter(l => l.mediaType.startsWith(BUNDLE_PREFIX)))
      }
    if (bundleLayers.length > 0) {
      let last = ''
      for (const layer of bundleLayers) {
        const failure = this.verifyBundle(await this.blob(repository, layer.digest), imageDigest)
        if (!failure) return {verified: true, form: 'bundle-tag', message: 'verified via bundle'}
        last = failure
      }
      return {verified: false, form: 'bundle-tag', message: `no valid bundle layer: ${last}`}
    }
    // Step 3: the legacy .sig tag.
    const sig = await this.manifest(repository, `sha256-${hex}.sig`)
    if (!sig) return {verified: false, message: 'no valid signature found: legacy signature tag not found'}
    if (sig.type !== OCI_MANIFEST)
      return {verified: false, form: 'legacy-sig', message: `unexpected media type for .sig manifest: ${sig.type}`}
    let last = 'no legacy signatures found'
    for (const layer of (sig.json.layers ?? []).slice(0, 100)) {
      const failure = this.verifyLegacy(
        await this.blob(repository, layer.digest),
        layer.annotations?.['dev.cosignproject.cosign/signature'],
        imageDigest,
      )
      if (!failure) return {verified: true, form: 'legacy-sig', message: 'verified via legacy signature'}
      last = failure
    }
    return {verified: false, form: 'legacy-sig', message: `no valid legacy signature: ${last}`}
  }
}
