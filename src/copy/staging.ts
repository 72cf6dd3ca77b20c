// Staging for remote sources. The archive is one sequential stream, so blobs cannot be appended in parallel; to
// still download in parallel, each blob is first fetched (verified) into a cache directory, an OCI layout, and then
// appended to the tar from local disk. With `--cache DIR` the directory is kept, so a re-run after an interrupted
// export reuses every blob already downloaded (resumption); otherwise each staged blob is deleted once appended.
import {rm} from 'node:fs/promises'
import {Readable} from 'node:stream'
import type {Descriptor} from '../oci/descriptor.ts'
import {OciLayoutStore} from '../store/oci-layout.ts'
import type {Fetcher} from '../store/types.ts'

export class StagingFetcher implements Fetcher {
  private readonly source: Fetcher
  private readonly cache: OciLayoutStore
  private readonly keep: boolean
  /** Blobs served from the cache without a download (resumption), for the summary. */
  reused = 0

  private constructor(source: Fetcher, cache: OciLayoutStore, keep: boolean) {
    this.source = source
    this.cache = cache
    this.keep = keep
  }

  static async create(source: Fetcher, dir: string, keep: boolean): Promise<StagingFetcher> {
    return new StagingFetcher(source, await OciLayoutStore.open(dir, {create: true}), keep)
  }

  /** Resolves once the blob is complete and verified in the cache; the returned stream reads it back lazily. */
  async fetch(descriptor: Descriptor): Promise<Readable> {
    if (await this.cache.exists(descriptor)) this.reused++
    else await this.cache.push(descriptor, await this.source.fetch(descriptor))
    const cache = this.cache
    const keep = this.keep
    // Lazy: the file is opened only when the archive writer starts reading, so blobs waiting for their turn hold
    // no file descriptors. The cache store re-verifies the digest while reading (the file may have been altered).
    async function* read(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of await cache.fetch(descriptor)) yield chunk as Buffer
      } finally {
        if (!keep) await rm(cache.blobFile(descriptor), {force: true})
      }
    }
    return Readable.from(read(), {objectMode: false})
  }
}
