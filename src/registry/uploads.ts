// Blob uploads, as the distribution spec lays them out: POST opens an upload session (and is where we meet the
// auth challenge, since the body that follows is a stream that cannot be sent twice), then either one PUT with
// the whole blob (small blobs) or PATCHes of fixed-size chunks and a closing PUT (large ones, so one failure does
// not cost the whole layer and proxies with body limits still pass). The content is checked against the
// descriptor while it is sent; the registry checks it again when it commits `?digest=`.
import {createHash, type Hash} from 'node:crypto'
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {VerifyingStream} from '../oci/digest.ts'
import type {RereadableBlob} from '../content/types.ts'
import {repositoryScope} from './auth.ts'
import {backoffDelay, retryAfterMs, sleep} from './backoff.ts'
import {isRetryableError, isRetryableStatus, readErrorBody, statusError} from './errors.ts'
import type {RegistrySession} from './session.ts'
import {blobSize} from './manifests.ts'
import {takeBuffer, giveBuffer} from './buffer-pool.ts'
import {HashedBody} from './hashed-body.ts'
import {discard, header, type HttpResponse} from './transport.ts'

export interface UploadOptions {
  /** Blobs up to this size go in one streamed PUT; bigger ones in PATCH chunks of this size (one reused buffer per upload). */
  chunkSize: number
}

export interface RereadableUploadOptions {
  /**
   * Blobs up to this size go in ONE streamed PUT (POST, then PUT ?digest= with the body); bigger ones, or any blob
   * the registry refuses in one request (413), in PATCH chunks of `chunkSize`, each streamed from the file.
   */
  monolithicMax: number
  chunkSize: number
  /** Attempts after the first for a transient failure (5xx, 429, broken connection); each re-reads the blob. */
  retries: number
  retryBaseMs: number
  maxRetryDelayMs?: number
}

/**
 * Where the registry says to continue an upload, followed only when it is safe (docs/DECISIONS.md): the same
 * scheme and host on any path; the same host upgraded to https; another host only if it is a registry host this
 * run was given (the mirror, a source, an --insecure-registry host), and then without our credentials (session.ts
 * sends them to its own host only). A downgrade from https to http is refused whatever the host: the blob and the
 * session would travel in clear. Each refusal says why in one line.
 */
function uploadLocation(session: RegistrySession, response: HttpResponse, what: string): URL {
  const location = header(response.headers, 'location')
  if (!location)
    throw new AirlockError('REGISTRY_ERROR', `${what}: the registry did not say where to upload (no Location header)`)
  const url = new URL(location, response.url)
  const from = response.url
  if (url.protocol === from.protocol && url.host === from.host) return url
  if (from.protocol === 'https:' && url.protocol !== 'https:')
    throw new AirlockError(
      'REGISTRY_ERROR',
      `${what}: the upload location ${url.protocol}//${url.host} downgrades ${from.host} to plain HTTP; refusing to send the blob unencrypted`,
      {
        hint: "a TLS-terminating proxy in front of the registry is rewriting the scheme: have it pass X-Forwarded-Proto: https (or set Distribution's http.relativeurls: true)",
      },
    )
  if (url.host === from.host) return url
  if (session.isRunHost(url.host)) return url
  throw new AirlockError(
    'REGISTRY_ERROR',
    `${what}: upload location on another host (${url.host}), which is not a registry this run was given; refusing to send the blob there`,
    {
      hint: `the registry names a host it is not reached by (e.g. Harbor behind a proxy answering with its internal "core"): fix its external URL (Harbor: hostname/external_url; Distribution: http.host); if ${url.host} is the registry's own plain-HTTP upload endpoint, list it with --insecure-registry`,
    },
  )
}

/** The registry's minimum chunk size (OCI-Chunk-Min-Length on the POST that opened the session), 0 when none. */
function chunkMinLength(response: HttpResponse): number {
  const value = Number(header(response.headers, 'oci-chunk-min-length') ?? '')
  return Number.isSafeInteger(value) && value > 0 ? value : 0
}

/** Chunks are never shrunk below this after a 413 (nor below the registry's minimum). */
const SMALLEST_CHUNK = 64 * 1024
/** A registry minimum above this cannot be honoured with chunks held in memory (streams that cannot be re-read). */
const MAX_BUFFERED_CHUNK = 256 * 1024 * 1024

function withDigest(location: URL, descriptor: Descriptor): URL {
  const url = new URL(location)
  url.searchParams.set('digest', descriptor.digest)
  return url
}

/** The empty PUT that ends a chunked upload: the registry commits the blob under `descriptor.digest` if it matches. */
function closeUpload(
  session: RegistrySession,
  location: URL,
  descriptor: Descriptor,
  scopes: string[],
  what: string,
): Promise<HttpResponse> {
  return session.request(
    {
      method: 'PUT',
      url: withDigest(location, descriptor),
      headers: {'Content-Length': '0'},
      body: Buffer.alloc(0),
      commit: true,
    },
    scopes,
    what,
  )
}

/** Pushes one blob from a stream. Nothing is committed unless the bytes match the descriptor. */
export async function pushBlob(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  content: Readable,
  options: UploadOptions,
): Promise<void> {
  const what = `push blob ${session.registry}/${repository}@${descriptor.digest}`
  const scopes = [repositoryScope(repository, 'pull,push')]
  const verified = new VerifyingStream(descriptor, `blob ${descriptor.digest}`)
  let contentError: Error | undefined
  content.once('error', error => {
    contentError = error
    verified.destroy(error)
  })
  verified.once('error', error => {
    contentError ??= error
  })

  let location: URL | undefined
  try {
    const start = await session.request(
      {method: 'POST', url: session.url(`/v2/${repository}/blobs/uploads/`), headers: {'Content-Length': '0'}},
      scopes,
      what,
    )
    if (start.status !== 202) throw statusError(what, start.status, await readErrorBody(start.body), session.registry)
    discard(start.body)
    location = uploadLocation(session, start, what)

    // The content may already have failed its check (a small blob is read whole while POST is in flight).
    if (contentError) throw contentError
    if (descriptor.size <= options.chunkSize) {
      content.pipe(verified)
      const put = await session
        .request(
          {
            method: 'PUT',
            url: withDigest(location, descriptor),
            headers: {'Content-Type': 'application/octet-stream', 'Content-Length': String(descriptor.size)},
            body: verified,
            commit: true,
          },
          scopes,
          what,
        )
        .catch((error: unknown) => {
          throw contentError ?? error
        })
      if (contentError) throw contentError
      if (put.status !== 201) throw statusError(what, put.status, await readErrorBody(put.body), session.registry)
      discard(put.body)
      location = undefined
      return
    }

    const min = chunkMinLength(start)
    if (min > MAX_BUFFERED_CHUNK)
      throw new AirlockError(
        'UNSUPPORTED',
        `${what}: the registry wants chunks of at least ${min} bytes (OCI-Chunk-Min-Length), more than airlock buffers for a stream`,
      )
    const floor = Math.max(min, SMALLEST_CHUNK)
    let piece = Math.max(options.chunkSize, min)
    content.pipe(verified)
    let offset = 0
    for await (const chunk of chunks(verified, piece)) {
      // A chunk a proxy refuses as too large (413) goes again in halves, never below the registry's minimum.
      for (let at = 0; at < chunk.length; ) {
        const part = chunk.subarray(at, at + piece)
        const patch = await session.request(
          {
            method: 'PATCH',
            url: location,
            headers: {
              'Content-Type': 'application/octet-stream',
              'Content-Range': `${offset}-${offset + part.length - 1}`,
            },
            body: part,
          },
          scopes,
          what,
        )
        if (patch.status === 413 && part.length > floor) {
          discard(patch.body)
          piece = Math.max(floor, Math.ceil(part.length / 2))
          continue
        }
        if (patch.status !== 202 && patch.status !== 201)
          throw statusError(
            `${what} (chunk at ${offset})`,
            patch.status,
            await readErrorBody(patch.body),
            session.registry,
          )
        discard(patch.body)
        location = uploadLocation(session, patch, what)
        offset += part.length
        at += part.length
      }
    }
    if (contentError) throw contentError
    const put = await closeUpload(session, location, descriptor, scopes, what)
    if (put.status !== 201) throw statusError(what, put.status, await readErrorBody(put.body), session.registry)
    discard(put.body)
    location = undefined
  } catch (error) {
    verified.destroy()
    content.unpipe(verified)
    if (!content.destroyed) content.destroy()
    throw contentError ?? error
  } finally {
    // An abandoned session holds space on the registry until it is purged: cancel it, best effort.
    if (location) await cancelUpload(session, location, scopes)
  }
}

/**
 * Pushes one blob whose bytes can be read again (a region of the archive file). The bytes are streamed from the
 * file into the request, hashed once on the way (the registry checks `?digest=` again when it commits), so there
 * is no copy into chunk buffers, no per-chunk round trip for blobs up to `monolithicMax`, and memory stays at a
 * read buffer per upload. A transient failure (reset mid-body, 5xx, 429) abandons that upload session and sends
 * the blob again from a fresh read in a new one: a half-received body is never continued, so nothing depends on
 * how much of it the registry kept. Content that fails its own check (the file changed) fails at once.
 */
export async function pushBlobFrom(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  source: RereadableBlob,
  options: RereadableUploadOptions,
): Promise<void> {
  const what = `push blob ${session.registry}/${repository}@${descriptor.digest}`
  if (source.size !== descriptor.size)
    throw new AirlockError(
      'SIZE_MISMATCH',
      `${what}: the source holds ${source.size} bytes, the descriptor says ${descriptor.size}`,
    )
  let chunked = descriptor.size > options.monolithicMax
  for (let attempt = 0; ; attempt++) {
    const outcome = await uploadAttempt(session, repository, descriptor, source, chunked, options.chunkSize, what)
    if (outcome.ok) return
    // A registry (or a proxy in front of it) that will not take the whole blob in one request gets chunks.
    if (!chunked && outcome.status === 413) {
      chunked = true
      continue
    }
    if (attempt >= options.retries || !outcome.retryable) throw outcome.error
    await sleep(outcome.retryAfterMs ?? backoffDelay(attempt, options.retryBaseMs, options.maxRetryDelayMs ?? 30_000))
    // A commit that outlived our patience may still have landed: ask before sending the whole blob again.
    if ((await blobSize(session, repository, descriptor).catch(() => undefined)) === descriptor.size) return
  }
}

type Attempt = {ok: true} | {ok: false; error: Error; retryable: boolean; status?: number; retryAfterMs?: number}

async function uploadAttempt(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  source: RereadableBlob,
  chunked: boolean,
  chunkSize: number,
  what: string,
): Promise<Attempt> {
  const scopes = [repositoryScope(repository, 'pull,push')]
  const failed = (error: unknown): Attempt => {
    const e = error instanceof Error ? error : new Error(String(error))
    return {ok: false, error: e, retryable: isRetryableError(e)}
  }
  const refused = async (response: HttpResponse, at: string): Promise<Attempt> => {
    const error = statusError(at, response.status, await readErrorBody(response.body), session.registry)
    const wait = retryAfterMs(response.headers['retry-after'], 30_000)
    return {
      ok: false,
      error,
      retryable: isRetryableStatus(response.status),
      status: response.status,
      ...(wait === undefined ? {} : {retryAfterMs: wait}),
    }
  }
  // The session start is a small request: the transport retries it and meets the auth challenge here.
  let location: URL | undefined
  let min = 0
  try {
    const start = await session.request(
      {method: 'POST', url: session.url(`/v2/${repository}/blobs/uploads/`), headers: {'Content-Length': '0'}},
      scopes,
      what,
    )
    if (start.status !== 202) return await refused(start, what)
    discard(start.body)
    location = uploadLocation(session, start, what)
    min = chunkMinLength(start)
  } catch (error) {
    return failed(error)
  }
  try {
    let hash = createHash('sha256')
    if (!chunked) {
      const sent = await sendRange(
        session,
        scopes,
        what,
        {method: 'PUT', url: withDigest(location, descriptor), contentRange: undefined, commit: true},
        source,
        0,
        descriptor.size,
        hash,
        descriptor,
      )
      if ('error' in sent) return sent.content ? {ok: false, error: sent.error, retryable: false} : failed(sent.error)
      if (sent.response.status !== 201) return await refused(sent.response, what)
      discard(sent.response.body)
      location = undefined
      return {ok: true}
    }
    // The registry's minimum wins over a smaller chunk size; a chunk refused as too large (413, a proxy's body
    // limit) is sent again from the same offset in halves, never below that minimum.
    const floor = Math.max(min, SMALLEST_CHUNK)
    let chunk = Math.max(chunkSize, min)
    for (let offset = 0; offset < descriptor.size; ) {
      const length = Math.min(chunk, descriptor.size - offset)
      const at = `${what} (chunk at ${offset})`
      const before = hash.copy()
      const sent = await sendRange(
        session,
        scopes,
        at,
        {method: 'PATCH', url: location, contentRange: `${offset}-${offset + length - 1}`},
        source,
        offset,
        length,
        hash,
        undefined,
      )
      if ('error' in sent) return sent.content ? {ok: false, error: sent.error, retryable: false} : failed(sent.error)
      if (sent.response.status === 413 && length > floor) {
        discard(sent.response.body)
        hash = before
        chunk = Math.max(floor, Math.ceil(length / 2))
        continue
      }
      // ECR answers 201 to a chunk (jdx/mise#11376, aws/containers-roadmap#2831): the bytes were taken all the same.
      if (sent.response.status !== 202 && sent.response.status !== 201) return await refused(sent.response, at)
      discard(sent.response.body)
      location = uploadLocation(session, sent.response, what)
      offset += length
    }
    // Checked before the commit: content that changed since it was verified is never committed, not even by
    // a registry that would accept it under the digest it really has.
    const actual = `sha256:${hash.digest('hex')}`
    if (actual !== descriptor.digest)
      return {
        ok: false,
        error: new AirlockError(
          'DIGEST_MISMATCH',
          `blob ${descriptor.digest}: content hashes to ${actual}, expected ${descriptor.digest}`,
        ),
        retryable: false,
      }
    let put: HttpResponse
    try {
      put = await closeUpload(session, location, descriptor, scopes, what)
    } catch (error) {
      return failed(error)
    }
    if (put.status !== 201) return await refused(put, what)
    discard(put.body)
    location = undefined
    return {ok: true}
  } finally {
    if (location) await cancelUpload(session, location, scopes)
  }
}

/** One request whose body is `length` bytes of `source` from `offset`, hashed into `hash` on the way. */
async function sendRange(
  session: RegistrySession,
  scopes: string[],
  what: string,
  request: {method: 'PUT' | 'PATCH'; url: URL; contentRange: string | undefined; commit?: boolean},
  source: RereadableBlob,
  offset: number,
  length: number,
  hash: Hash,
  expected: Descriptor | undefined,
): Promise<{response: HttpResponse} | {error: Error; content: boolean}> {
  const body = new HashedBody(source, offset, length, hash, expected)
  const headers: Record<string, string> = {'Content-Type': 'application/octet-stream', 'Content-Length': String(length)}
  if (request.contentRange) headers['Content-Range'] = request.contentRange
  try {
    const response = await session.request(
      {method: request.method, url: request.url, headers, body, ...(request.commit ? {commit: true} : {})},
      scopes,
      what,
    )
    if (body.failure) {
      discard(response.body)
      return {error: body.failure, content: true}
    }
    return {response}
  } catch (error) {
    if (body.failure) return {error: body.failure, content: true}
    if (body.readError)
      return {
        error: new AirlockError('IO_ERROR', `${what}: reading the blob: ${body.readError.message}`, {
          cause: body.readError,
        }),
        content: true,
      }
    return {error: error instanceof Error ? error : new Error(String(error)), content: false}
  } finally {
    body.stop()
  }
}

async function cancelUpload(session: RegistrySession, location: URL, scopes: string[]): Promise<void> {
  try {
    const response = await session.request({method: 'DELETE', url: location}, scopes, 'cancel upload')
    discard(response.body)
  } catch {
    // the original error matters more than a failed cleanup
  }
}

/**
 * Regroups a stream into chunks of exactly `size` bytes (the last one shorter), copied into one buffer that is
 * reused: each yielded chunk is valid only until the consumer asks for the next one (the upload loop sends a chunk,
 * retries included, before it does).
 */
async function* chunks(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  const buf = takeBuffer(size)
  try {
    let length = 0
    for await (const data of stream) {
      let at = 0
      while (at < data.length) {
        const n = data.copy(buf, length, at, Math.min(data.length, at + size - length))
        at += n
        length += n
        if (length === size) {
          yield buf
          length = 0
        }
      }
    }
    if (length > 0) yield buf.subarray(0, length)
  } finally {
    giveBuffer(buf)
  }
}

/**
 * Asks the registry to link a blob from another repository on the same registry (no bytes move). True when it
 * did. A 202 (an upload session instead) means "not mounted this time" (the distribution spec lets a registry
 * decline any mount, opencontainers/distribution-spec#206; Harbor does for stale records, goharbor/harbor#18541):
 * we cancel that session, the caller uploads, and later mounts are still tried, as go-containerregistry and
 * oras-go do per blob. Only a clear refusal (401/403: no pull on the source, 404: no such source, 400/405: mounting
 * not served) stops mounts from that source repository for the rest of the run; it never fails the push.
 */
export async function mountBlob(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
  fromRepository: string,
): Promise<boolean> {
  if (session.mountRefused.has(fromRepository)) return false
  const what = `mount blob ${descriptor.digest} from ${fromRepository} into ${session.registry}/${repository}`
  const scopes = [repositoryScope(repository, 'pull,push'), repositoryScope(fromRepository, 'pull')]
  const url = session.url(`/v2/${repository}/blobs/uploads/`)
  url.searchParams.set('mount', descriptor.digest)
  url.searchParams.set('from', fromRepository)
  let response: HttpResponse
  try {
    response = await session.request({method: 'POST', url, headers: {'Content-Length': '0'}}, scopes, what)
  } catch (error) {
    // The token server left out the source's pull scope (insufficient_scope): a refusal of this source only.
    if (error instanceof AirlockError && error.code === 'UNAUTHORIZED') {
      session.mountRefused.add(fromRepository)
      return false
    }
    throw error
  }
  if (response.status === 201) {
    discard(response.body)
    const digest = header(response.headers, 'docker-content-digest')
    if (digest !== undefined && digest !== descriptor.digest)
      throw new AirlockError('DIGEST_MISMATCH', `${what}: registry mounted ${digest}`)
    return true
  }
  if (response.status === 202) {
    discard(response.body)
    const location = header(response.headers, 'location')
    if (location) await cancelUpload(session, new URL(location, response.url), scopes)
    return false
  }
  discard(response.body)
  if ([400, 401, 403, 404, 405].includes(response.status)) {
    session.mountRefused.add(fromRepository)
    return false
  }
  throw statusError(what, response.status, '', session.registry)
}
