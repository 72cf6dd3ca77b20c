// Blob downloads: one stream per blob, never buffered, hashed as it flows (VerifyingStream fails the stream at its
// end unless every byte matched the descriptor). When the connection breaks mid-blob the download continues with
// a Range request from the last byte received, feeding the same hash, so a 300 MB layer is not restarted from zero.
import type {IncomingMessage} from 'node:http'
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {VerifyingStream} from '../oci/digest.ts'
import {repositoryScope} from './auth.ts'
import {backoffDelay, sleep} from './backoff.ts'
import {isRetryableError, networkError, readErrorBody, statusError} from './errors.ts'
import type {Semaphore} from './semaphore.ts'
import type {RegistrySession} from './session.ts'
import {discard, header} from './transport.ts'

export interface BlobFetchOptions {
  /** How many times an interrupted body is resumed with Range before giving up. */
  resumeAttempts: number
  /** Bounds concurrent transfers; the permit is held until the returned stream closes. */
  semaphore?: Semaphore | undefined
  retryBaseMs?: number | undefined
}

/** Parses `Content-Range: bytes START-END/TOTAL` and returns START, or undefined. */
function rangeStart(value: string | undefined): number | undefined {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(value?.trim() ?? '')
  return match ? Number(match[1]) : undefined
}

/**
 * Opens a blob for reading. Errors known before the first byte (404, 401) are thrown here; later ones (broken
 * connection after all resume attempts, wrong digest or size) error the returned stream.
 */
export async function fetchBlob(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  options: BlobFetchOptions,
): Promise<Readable> {
  const what = `GET blob ${session.registry}/${repository}@${descriptor.digest}`
  const url = session.url(`/v2/${repository}/blobs/${descriptor.digest}`)
  const scopes = [repositoryScope(repository, 'pull')]

  /** Asks for the blob from `offset` on; returns the body and how many leading bytes of it to drop. */
  const open = async (offset: number): Promise<{body: IncomingMessage; skip: number}> => {
    const headers: Record<string, string> = offset > 0 ? {Range: `bytes=${offset}-`} : {}
    const response = await session.request({method: 'GET', url, headers}, scopes, what)
    if (response.status === 200) return {body: response.body, skip: offset} // Range ignored: drop what we have
    if (response.status === 206 && offset > 0) {
      const start = rangeStart(header(response.headers, 'content-range'))
      if (start === offset) return {body: response.body, skip: 0}
      discard(response.body)
      throw new AirlockError(
        'REGISTRY_ERROR',
        `${what}: asked for bytes from ${offset}, got a range starting at ${start ?? 'an unreadable position'}`,
      )
    }
    throw statusError(what, response.status, await readErrorBody(response.body), session.registry)
  }

  const release = options.semaphore ? await options.semaphore.acquire() : () => {}
  let first: {body: IncomingMessage; skip: number}
  try {
    first = await open(0)
  } catch (error) {
    release()
    throw error
  }
  const output = new VerifyingStream(descriptor, `blob ${descriptor.digest}`)
  output.once('close', release)
  void pump(output, first, open, descriptor.size, what, options)
  return output
}

/** Copies response bodies into `output` with backpressure, resuming after interruptions. */
async function pump(
  output: VerifyingStream,
  first: {body: IncomingMessage; skip: number},
  open: (offset: number) => Promise<{body: IncomingMessage; skip: number}>,
  size: number,
  what: string,
  options: BlobFetchOptions,
): Promise<void> {
  let current = first
  let offset = 0
  let resumes = 0
  for (;;) {
    try {
      let skip = current.skip
      for await (const chunk of current.body as AsyncIterable<Buffer>) {
        if (output.destroyed) break
        let data = chunk
        if (skip > 0) {
          const dropped = Math.min(skip, data.length)
          data = data.subarray(dropped)
          skip -= dropped
          if (data.length === 0) continue
        }
        offset += data.length
        if (!output.write(data)) await drained(output)
      }
      if (output.destroyed) {
        current.body.destroy()
        return
      }
      // A body that ends early without an error (no Content-Length, connection closed) is an interruption too.
      if (offset >= size) {
        output.end()
        return
      }
      throw Object.assign(new Error(`connection closed after ${offset} of ${size} bytes`), {code: 'ECONNRESET'})
    } catch (error) {
      current.body.destroy()
      if (output.destroyed) return
      const transient = !(error instanceof AirlockError) || isRetryableError(error)
      if (!transient || resumes >= options.resumeAttempts) {
        output.destroy(
          error instanceof AirlockError ? error : networkError(`${what} (after ${offset} of ${size} bytes)`, error),
        )
        return
      }
      await sleep(backoffDelay(resumes, options.retryBaseMs ?? 250, 10_000))
      resumes++
      try {
        current = await open(offset)
      } catch (openError) {
        output.destroy(openError as Error)
        return
      }
    }
  }
}

/** Resolves when `stream` wants more data; rejects if it is destroyed first (the consumer went away). */
function drained(stream: VerifyingStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('close', onClose)
      resolve()
    }
    const onClose = (): void => {
      stream.off('drain', onDrain)
      reject(new AirlockError('INTERRUPTED', 'blob reader closed'))
    }
    stream.once('drain', onDrain)
    stream.once('close', onClose)
  })
}
