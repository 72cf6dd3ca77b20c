// The `--cache DIR` path for remote sources: each blob is first fetched (verified) into DIR, an OCI layout, and
// then read back into the archive, so a re-run after an interrupted export reuses every blob already downloaded
// (resumption). Without --cache, export does not stage at all: downloads stream straight into the archive.
//
// Reading back costs a second pass over the bytes and it is hashed again: the cache is a directory on disk that
// another process (or an earlier, different run) may have changed, so what the archive gets must be re-verified.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import type {Descriptor} from '../oci/descriptor.ts'
import {OciLayoutStore} from '../store/oci-layout.ts'
import type {Fetcher} from '../content/types.ts'
import {removeStaleTemporaries} from '../util/files.ts'

/**
 * Removes the temporary files of a cache directory that a killed export left (a blob being downloaded,
 * `blobs/<alg>/.<hex>.partial-<pid>-*`, or index.json being rewritten); an export still running on the same cache
 * keeps its own. Returns the paths removed.
 */
export function removeStaleCacheFiles(dir: string): string[] {
  const removed = removeStaleTemporaries(dir)
  let algorithms: string[] = []
  try {
    algorithms = readdirSync(join(dir, 'blobs'))
  } catch {
    // no blobs yet
  }
  for (const algorithm of algorithms) removed.push(...removeStaleTemporaries(join(dir, 'blobs', algorithm)))
  return removed
}

export class StagingFetcher implements Fetcher {
  private readonly source: Fetcher
  private readonly cache: OciLayoutStore
  /** Blobs served from the cache without a download (resumption), for the summary. */
  reused = 0

  private constructor(source: Fetcher, cache: OciLayoutStore) {
    this.source = source
    this.cache = cache
  }

  static async create(source: Fetcher, dir: string): Promise<StagingFetcher> {
    return new StagingFetcher(source, await OciLayoutStore.open(dir, {create: true}))
  }

  /**
   * Resolves once the blob is complete and verified in the cache, with a stream reading it back. The stream is a
   * VerifyingStream over the file's bytes (OciLayoutStore.fetch), so the archive writer does not hash them a third
   * time. The copy calls fetch right before consuming it, so the open file descriptor is short-lived.
   */
  async fetch(descriptor: Descriptor): Promise<Readable> {
    if (await this.cache.exists(descriptor)) this.reused++
    else await this.cache.push(descriptor, await this.source.fetch(descriptor))
    return this.cache.fetch(descriptor)
  }
}
