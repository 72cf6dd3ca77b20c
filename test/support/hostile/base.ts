// The valid archive every hostile case starts from, and a small editable model of it.
//
// The base is made in two steps: a deterministic OCI image layout directory (two images: a single-platform manifest
// and a two-platform index sharing a layer) is written by `writeSourceLayout`, then turned into an archive either by
// the real `airlock export oci:DIR:REF` (when the CLI has an export command) or, before that existed, by
// `craftArchive` here. Cases mutate the parsed entries and re-serialize them, so they follow the real writer's
// layout (entry order, directories, airlock.json schema) instead of a guess of it.
import {HANG_GUARD_MS} from '../cli.ts'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {readTar, writeTar, type TarEntry} from './tar.ts'

export const ROOT = new URL('../../../', import.meta.url).pathname

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'

export function sha256hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export interface Desc {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: {os: string; architecture: string; variant?: string}
}

export function descOf(mediaType: string, bytes: Buffer, extra: Partial<Desc> = {}): Desc {
  return {mediaType, digest: `sha256:${sha256hex(bytes)}`, size: bytes.length, ...extra}
}

/** Deterministic pseudo-random bytes (a blob must be stable so the table and digests do not change per run). */
export function prng(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** A real gzip'ed tar as a layer (content is opaque to airlock, but realistic content keeps the base honest). */
function layer(seed: number, file: string): Buffer {
  return gzipSync(writeTar([{name: file, body: prng(seed, 2048)}]), {level: 9})
}

export interface SourceImage {
  /** The tag inside the source layout (`org.opencontainers.image.ref.name`). */
  tag: string
  root: Desc
}

export interface SourceLayout {
  blobs: Map<string, Buffer>
  images: SourceImage[]
  /** Named pieces, so cases can pick "the config", "the index" ... without re-deriving them. */
  parts: {
    sharedLayer: Desc
    layerA: Desc
    configA: Desc
    manifestA: Desc
    manifestAmd64: Desc
    manifestArm64: Desc
    index: Desc
  }
}

export function buildSourceLayout(): SourceLayout {
  const blobs = new Map<string, Buffer>()
  const put = (mediaType: string, bytes: Buffer, extra: Partial<Desc> = {}): Desc => {
    const d = descOf(mediaType, bytes, extra)
    blobs.set(d.digest, bytes)
    return d
  }
  const sharedLayer = put(OCI_LAYER_GZIP, layer(1, 'shared.bin'))
  const layerA = put(OCI_LAYER_GZIP, layer(2, 'a.bin'))
  const layerArm = put(OCI_LAYER_GZIP, layer(3, 'arm.bin'))
  const cfg = (arch: string) =>
    put(
      OCI_CONFIG,
      Buffer.from(
        JSON.stringify({architecture: arch, os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: []}}),
      ),
    )
  const configA = cfg('amd64')
  const configArm = cfg('arm64')
  const manifest = (config: Desc, layers: Desc[]) =>
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers}))
  const manifestA = put(OCI_MANIFEST, manifest(configA, [sharedLayer, layerA]))
  const manifestAmd64 = put(OCI_MANIFEST, manifest(configA, [sharedLayer]), {
    platform: {os: 'linux', architecture: 'amd64'},
  })
  const manifestArm64 = put(OCI_MANIFEST, manifest(configArm, [sharedLayer, layerArm]), {
    platform: {os: 'linux', architecture: 'arm64'},
  })
  const index = put(
    OCI_INDEX,
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: [manifestAmd64, manifestArm64]})),
  )
  return {
    blobs,
    images: [
      {tag: 'single', root: manifestA},
      {tag: 'multi', root: index},
    ],
    parts: {sharedLayer, layerA, configA, manifestA, manifestAmd64, manifestArm64, index},
  }
}

/** Writes the source layout as an OCI image layout directory (input of `airlock export oci:DIR:TAG`). */
export function writeSourceLayout(layout: SourceLayout, dir: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  for (const [digest, bytes] of layout.blobs) writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes)
  const manifests = layout.images.map(i => ({...i.root, annotations: {'org.opencontainers.image.ref.name': i.tag}}))
  writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests}))
}

/**
 * A hand-built airlock archive following GUIDE section 3, used only while `airlock export` did not exist. The
 * airlock.json schema here is a guess; `Archive.reseal` adapts to whichever shape the archive actually has.
 */
export function craftArchive(layout: SourceLayout, refPrefix: string): Buffer {
  const ociLayout = Buffer.from(JSON.stringify({imageLayoutVersion: '1.0.0'}))
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: layout.images.map(i => ({
        ...i.root,
        annotations: {'org.opencontainers.image.ref.name': `${refPrefix}:${i.tag}`},
      })),
    }),
  )
  // The schema of src/archive/schema.ts (formatVersion 1): images by full reference, files = non-layout extras.
  const airlock = Buffer.from(
    JSON.stringify({
      formatVersion: 1,
      tool: {name: 'airlock', version: '0.1.0'},
      images: layout.images.map(i => ({
        reference: `${refPrefix}:${i.tag}`,
        source: `oci:layout:${i.tag}`,
        digest: i.root.digest,
        mediaType: i.root.mediaType,
        size: i.root.size,
        tag: i.tag,
        ...(i.root.mediaType === OCI_INDEX
          ? {
              platforms: [layout.parts.manifestAmd64, layout.parts.manifestArm64].map(m => ({
                platform: `${m.platform!.os}/${m.platform!.architecture}`,
                digest: m.digest,
              })),
            }
          : {}),
      })),
      files: {},
    }),
  )
  const entries: TarEntry[] = [
    {name: 'oci-layout', body: ociLayout},
    ...[...layout.blobs].map(([d, b]) => ({name: `blobs/sha256/${d.slice(7)}`, body: b})),
    {name: 'index.json', body: index},
    {name: 'airlock.json', body: airlock},
  ]
  return writeTar(entries)
}

/** Is the real exporter built? (dist/commands/export.js appears once src/archive and the export command land.) */
export function haveRealExport(): boolean {
  return existsSync(join(ROOT, 'dist/commands/export.js'))
}

/**
 * Produces the base archive in `workDir`: the real export of the source layout when possible, else the crafted one.
 * Returns the archive bytes and which one it is, so reports can say what the corpus ran against.
 */
export function makeBaseArchive(workDir: string): {
  bytes: Buffer
  origin: 'airlock export' | 'crafted'
  layout: SourceLayout
} {
  const layout = buildSourceLayout()
  mkdirSync(workDir, {recursive: true})
  if (haveRealExport() && !process.env.HOSTILE_CRAFTED_BASE) {
    const src = join(workDir, 'source-layout')
    writeSourceLayout(layout, src)
    const out = join(workDir, 'base.tar')
    const args = [
      join(ROOT, 'bin/run.js'),
      'export',
      '--no-tuf',
      '--signatures',
      'optional',
      ...layout.images.map(i => `oci:${src}:${i.tag}`),
      '-o',
      out,
    ]
    const run = spawnSync(process.execPath, args, {encoding: 'utf8', cwd: workDir, timeout: HANG_GUARD_MS})
    if (run.status === 0 && existsSync(out)) return {bytes: readFileSync(out), origin: 'airlock export', layout}
    process.stderr.write(
      `hostile corpus: airlock export failed (${run.status}): ${(run.stderr || run.stdout).trim().split('\n')[0]}; using the crafted base\n`,
    )
  }
  return {bytes: craftArchive(layout, 'example.test/hostile'), origin: 'crafted', layout}
}

/** An editable view of an archive: ordered entries, with helpers that keep airlock.json consistent. */
export class Archive {
  entries: TarEntry[]
  constructor(entries: TarEntry[]) {
    this.entries = entries
  }

  static parse(bytes: Buffer): Archive {
    return new Archive(
      readTar(bytes).entries.map(e => ({
        name: e.name,
        type: e.type as TarEntry['type'],
        body: e.body,
        ...(e.linkpath ? {linkpath: e.linkpath} : {}),
      })),
    )
  }

  clone(): Archive {
    return new Archive(this.entries.map(e => ({...e, ...(e.body ? {body: Buffer.from(e.body)} : {})})))
  }

  find(name: string): TarEntry | undefined {
    return this.entries.find(e => e.name === name)
  }

  get(name: string): Buffer {
    const e = this.find(name)
    if (!e?.body) throw new Error(`base archive has no ${name}`)
    return e.body
  }

  set(name: string, body: Buffer): this {
    const e = this.find(name)
    if (e) e.body = body
    else this.entries.push({name, body})
    return this
  }

  remove(name: string): this {
    this.entries = this.entries.filter(e => e.name !== name)
    return this
  }

  json(name: string): any {
    return JSON.parse(this.get(name).toString('utf8'))
  }

  blobName(digest: string): string {
    return `blobs/sha256/${digest.replace(/^sha256:/, '')}`
  }

  /** Adds a blob under its true digest (hostile content that is honestly named) and returns its descriptor. */
  addBlob(mediaType: string, bytes: Buffer, extra: Partial<Desc> = {}): Desc {
    const d = descOf(mediaType, bytes, extra)
    if (!this.find(this.blobName(d.digest))) {
      // keep blobs before index.json/airlock.json, like the writer does, so ordering is not what a case tests
      const at = this.entries.findIndex(e => e.name === 'index.json' || e.name === 'airlock.json')
      const entry = {name: this.blobName(d.digest), body: bytes}
      if (at < 0) this.entries.push(entry)
      else this.entries.splice(at, 0, entry)
    }
    return d
  }

  /** Replaces index.json's manifest list (keeping its other fields) and reseals airlock.json. */
  setIndexManifests(manifests: unknown[]): this {
    const index = this.json('index.json')
    index.manifests = manifests
    this.set('index.json', Buffer.from(JSON.stringify(index)))
    return this.reseal()
  }

  /**
   * Adds an image root to index.json AND to airlock.json's image list, so a case about the content of that image
   * is judged on its content, not refused earlier for "not listed in airlock.json".
   */
  addImage(root: Desc, reference: string): this {
    const index = this.json('index.json')
    index.manifests.push({...root, annotations: {'org.opencontainers.image.ref.name': reference}})
    this.set('index.json', Buffer.from(JSON.stringify(index)))
    if (this.find('airlock.json')) {
      const doc = this.json('airlock.json')
      // With the tag export would record for that reference (verify requires them to agree).
      const tag =
        /:([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(reference.split('@')[0]!.split('/').pop()!)?.[1] ??
        (/[/:@]/.test(reference) ? 'latest' : reference)
      const pinned = reference.includes('@') && !/:[^/]*@/.test(reference)
      if (Array.isArray(doc.images))
        doc.images.push({
          reference,
          source: reference,
          digest: root.digest,
          mediaType: root.mediaType,
          size: root.size,
          ...(pinned ? {} : {tag}),
        })
      this.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    }
    return this.reseal()
  }

  /**
   * Recomputes the sha256/size that airlock.json records for every non-blob file, so a case that edits index.json
   * tests what it means to test instead of tripping the airlock.json hash check first. Accepts the record shapes
   * a writer might use: `files` as a map or an array, hashes as hex or `sha256:hex`, under sha256/digest.
   */
  reseal(): this {
    if (!this.find('airlock.json')) return this
    const doc = this.json('airlock.json')
    const update = (path: string, record: Record<string, unknown>) => {
      const entry = this.find(path)
      if (!entry?.body) return
      for (const key of ['sha256', 'digest', 'hash']) {
        const v = record[key]
        if (typeof v === 'string')
          record[key] = v.startsWith('sha256:') ? `sha256:${sha256hex(entry.body)}` : sha256hex(entry.body)
      }
      if (typeof record.size === 'number') record.size = entry.body.length
    }
    const files = doc.files
    if (Array.isArray(files)) for (const r of files) update(String(r.path ?? r.name), r)
    else if (files && typeof files === 'object')
      for (const [path, r] of Object.entries(files)) update(path, r as Record<string, unknown>)
    this.set('airlock.json', Buffer.from(JSON.stringify(doc, null, 2)))
    return this
  }

  toTar(options: {endBlocks?: boolean} = {}): Buffer {
    return writeTar(this.entries, options)
  }
}

/** A signature image to add to the source layout (the test Sigstore instance's OciImage shape). */
export interface LayoutImage {
  manifest: Buffer
  manifestDescriptor: {mediaType: string; digest: string; size: number}
  config: {bytes: Buffer; descriptor: {digest: string}}
  layers: Array<{bytes: Buffer; descriptor: {digest: string}}>
}

/**
 * The base archive with every image root signed: `sign(digest)` returns a cosign legacy `.sig` image, which is put
 * into the source layout under the bare tag `sha256-<hex>.sig` and carried by the real `airlock export` (SET only,
 * --no-rekor: nothing leaves the machine). Push tests that verify with a policy run the corpus against this base,
 * so a refusal cannot be the missing signature.
 */
export function makeSignedBaseArchive(
  workDir: string,
  sign: (digest: string) => LayoutImage,
): {bytes: Buffer; origin: 'airlock export'; layout: SourceLayout} {
  const layout = buildSourceLayout()
  const src = join(workDir, 'source-layout')
  mkdirSync(workDir, {recursive: true})
  writeSourceLayout(layout, src)
  const index = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8'))
  for (const image of layout.images) {
    const sig = sign(image.root.digest)
    for (const b of [sig.config, ...sig.layers])
      writeFileSync(join(src, 'blobs', 'sha256', b.descriptor.digest.slice(7)), b.bytes)
    writeFileSync(join(src, 'blobs', 'sha256', sig.manifestDescriptor.digest.slice(7)), sig.manifest)
    index.manifests.push({
      ...sig.manifestDescriptor,
      annotations: {'org.opencontainers.image.ref.name': `${image.root.digest.replace(':', '-')}.sig`},
    })
  }
  writeFileSync(join(src, 'index.json'), JSON.stringify(index))
  const out = join(workDir, 'signed-base.tar')
  const args = [
    join(ROOT, 'bin/run.js'),
    'export',
    '--no-tuf',
    '--no-rekor',
    '--signatures',
    'required',
    ...layout.images.map(i => `oci:${src}:${i.tag}`),
    '-o',
    out,
  ]
  const run = spawnSync(process.execPath, args, {encoding: 'utf8', cwd: workDir, timeout: HANG_GUARD_MS})
  if (run.status !== 0)
    throw new Error(`signed base: airlock export failed (${run.status}): ${(run.stderr || run.stdout).trim()}`)
  return {bytes: readFileSync(out), origin: 'airlock export', layout}
}
