// The integrity half of verification, run over exactly what push will send: every image graph in the archive is
// walked and every blob streamed through its VerifyingStream (sha256 + size) before the first byte goes out. It
// stands in for the verify library's full check (signatures, policy, trust) until that library lands; push takes
// the verification step as a callback, so swapping it in is a one-line change in the command.
import {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {toAirlockError} from '../errors.ts'
import type {Fetcher} from '../store/types.ts'
import {collectGraph} from './graph.ts'
import type {VerificationOutcome} from './index.ts'
import type {PushImage} from './push.ts'

export async function verifyIntegrity(source: Fetcher, images: PushImage[]): Promise<VerificationOutcome> {
  const checked = new Set<string>()
  let bytes = 0
  try {
    for (const image of images) {
      const graph = await collectGraph(source, image.root) // manifests: fetched, size-limited, strictly parsed, digest-checked
      for (const blob of graph.blobs) {
        if (checked.has(blob.digest)) continue
        await pipeline(await source.fetch(blob), new Writable({write: (_chunk, _enc, done) => done()}))
        checked.add(blob.digest)
        bytes += blob.size
      }
    }
  } catch (error) {
    const e = toAirlockError(error, 'ARCHIVE_INVALID')
    return {passed: false, code: e.code, summary: e.message}
  }
  return {passed: true, summary: `integrity verified: ${images.length} image(s), ${checked.size} blob(s), ${bytes} bytes (sha256 and size of every blob, every manifest parsed)`}
}
