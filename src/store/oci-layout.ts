// An OCI image layout directory (`oci:DIR[:REF]`) as a Target. Blobs are written to a temp name, verified, and
// renamed into place, so a blob file under its digest is always complete and correct; index.json is replaced the
// same way when tagging.
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, open, readFile, rename, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, isVerifying, VerifyingStream} from '../oci/digest.ts'
import type {ImageIndex} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import {OCI_LAYOUT_BYTES, REF_NAME_ANNOTATION} from '../archive/schema.ts'
import {partialName, removeQuiet} from '../util/files.ts'
import {parseLayoutIndex, resolveInIndex} from '../content/layout-index.ts'
import type {Target} from '../content/types.ts'

const READ_CHUNK = 1024 * 1024

export class OciLayoutStore implements Target {
  readonly dir: string
  /** Content is on local disk: copy may stream it straight into an archive without staging. */
  readonly isLocal = true

  private constructor(dir: string) {
    this.dir = dir
  }

  /** Opens an existing layout, or creates an empty one when `create` is set. */
  static async open(dir: string, options: {create?: boolean} = {}): Promise<OciLayoutStore> {
    const store = new OciLayoutStore(dir)
    try {
      const layout = await readFile(join(dir, 'oci-layout'), 'utf8')
      const parsed = JSON.parse(layout) as {imageLayoutVersion?: unknown}
      if (parsed.imageLayoutVersion !== '1.0.0')
        throw new AirlockError(
          'UNSUPPORTED',
          `${dir}: unsupported OCI layout version ${JSON.stringify(parsed.imageLayoutVersion)}`,
        )
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (error instanceof AirlockError) throw error
        throw new AirlockError('ARCHIVE_INVALID', `${dir}/oci-layout is not valid JSON`)
      }
      if (!options.create) throw new AirlockError('NOT_FOUND', `${dir} is not an OCI image layout (no oci-layout file)`)
      await mkdir(join(dir, 'blobs', 'sha256'), {recursive: true})
      await writeFile(join(dir, 'oci-layout'), OCI_LAYOUT_BYTES)
      await writeFile(
        join(dir, 'index.json'),
        JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}) + '\n',
      )
    }
    return store
  }

  blobFile(descriptor: Descriptor): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(descriptor.digest))
  }

  async fetch(descriptor: Descriptor): Promise<Readable> {
    const path = this.blobFile(descriptor)
    // Open first so a missing blob is a clear NOT_FOUND now rather than a stream error later.
    const fh = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT'
        ? new AirlockError('NOT_FOUND', `${this.dir}: blob ${descriptor.digest} not found`)
        : toAirlockError(error, 'IO_ERROR')
    })
    const stream = createReadStream('', {fd: fh, highWaterMark: READ_CHUNK})
    const verified = new VerifyingStream(descriptor, `${this.dir}: blob ${descriptor.digest}`)
    stream.once('error', error => verified.destroy(error))
    return stream.pipe(verified)
  }

  async exists(descriptor: Descriptor): Promise<boolean> {
    try {
      return (await stat(this.blobFile(descriptor))).size === descriptor.size
    } catch {
      return false
    }
  }

  async push(descriptor: Descriptor, content: Readable): Promise<void> {
    const target = this.blobFile(descriptor)
    if (await this.exists(descriptor)) {
      content.destroy()
      return
    }
    const temp = partialName(target)
    try {
      const out = createWriteStream(temp, {flags: 'wx', mode: 0o644, highWaterMark: READ_CHUNK})
      // A stream that is already verifying this descriptor (a registry download) is not hashed a second time.
      if (isVerifying(content, descriptor)) await pipeline(content, out)
      else await pipeline(content, new VerifyingStream(descriptor, `blob ${descriptor.digest}`), out)
      // Durable before it becomes visible under its digest (a crash must not leave a short blob with a good name).
      const fh = await open(temp, 'r+')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(temp, target)
    } catch (error) {
      await removeQuiet(temp)
      throw toAirlockError(error, 'IO_ERROR')
    }
  }

  async index(): Promise<ImageIndex> {
    let bytes: Buffer
    try {
      bytes = await readFile(join(this.dir, 'index.json'))
    } catch (error) {
      throw toAirlockError(error, 'IO_ERROR')
    }
    return parseLayoutIndex(bytes, this.dir)
  }

  async resolve(reference: string): Promise<Descriptor> {
    return resolveInIndex(await this.index(), reference || undefined, `oci:${this.dir}`)
  }

  /** Points `reference` (a ref.name) at `descriptor`, replacing any previous entry of that name. */
  async tag(descriptor: Descriptor, reference: string): Promise<void> {
    const index = await this.index()
    const manifests = index.manifests.filter(d => d.annotations?.[REF_NAME_ANNOTATION] !== reference)
    manifests.push({
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
      annotations: {[REF_NAME_ANNOTATION]: reference},
    })
    const body = JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests}, null, 2) + '\n'
    const path = join(this.dir, 'index.json')
    const temp = partialName(path)
    try {
      await writeFile(temp, body)
      await rename(temp, path)
    } catch (error) {
      await removeQuiet(temp)
      throw toAirlockError(error, 'IO_ERROR')
    }
  }
}
