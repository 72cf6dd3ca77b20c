// The archive as a push source: blobs come from the OCI-archive store (one header pass, then each blob streamed
// from its byte range through a VerifyingStream, so nothing is held in memory and a blob changed on disk since
// `verify` still fails its digest check), and airlock.json says which images and signatures the archive carries.
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {AIRLOCK_JSON, type AirlockJson, MAX_AIRLOCK_JSON_BYTES, parseAirlockJson} from '../archive/schema.ts'
import {scanTar} from '../archive/tar.ts'
import {OciArchiveStore} from '../store/oci-archive.ts'
import type {ExistenceChecker, Fetcher} from '../store/types.ts'

export class ArchiveSource implements Fetcher, ExistenceChecker {
  readonly path: string
  readonly airlock: AirlockJson
  readonly store: OciArchiveStore

  private constructor(path: string, airlock: AirlockJson, store: OciArchiveStore) {
    this.path = path
    this.airlock = airlock
    this.store = store
  }

  static async open(path: string): Promise<ArchiveSource> {
    const store = await OciArchiveStore.open(path)
    return new ArchiveSource(path, await readAirlockJson(path), store)
  }

  exists(descriptor: Descriptor): Promise<boolean> {
    return this.store.exists(descriptor)
  }

  fetch(descriptor: Descriptor): Promise<Readable> {
    return this.store.fetch(descriptor)
  }
}

/** airlock.json's bytes, read during a header-only pass (every other body is skipped by seeking). */
async function readAirlockJson(path: string): Promise<AirlockJson> {
  let chunks: Buffer[] | undefined
  await scanTar(path, (entry) => {
    if (entry.name.replace(/^(\.\/)+/, '') !== AIRLOCK_JSON) return undefined
    if (chunks) throw new AirlockError('ARCHIVE_INVALID', `${path}: airlock.json appears twice`)
    if (entry.size > MAX_AIRLOCK_JSON_BYTES) throw new AirlockError('TOO_LARGE', `${path}: airlock.json is over ${MAX_AIRLOCK_JSON_BYTES} bytes`)
    const into: Buffer[] = (chunks = [])
    return {write: (chunk) => void into.push(Buffer.from(chunk)), end: () => {}}
  })
  if (!chunks) throw new AirlockError('ARCHIVE_INVALID', `${path} has no airlock.json`, {hint: 'is this an airlock archive?'})
  return parseAirlockJson(Buffer.concat(chunks))
}
