// Turning registry answers into AirlockErrors: one line that names the operation, the status and the registry's
// own error codes (`errors[].code/message` of the distribution spec), plus whether trying again could help.
import type {IncomingHttpHeaders, IncomingMessage} from 'node:http'
import {AirlockError, type ErrorCode} from '../errors.ts'

/** Statuses worth another attempt: the registry is overloaded or briefly broken, not refusing us. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505)
}

/** Error codes of Node sockets that mean "the connection broke", where a retry may well succeed. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
])

export function isRetryableNetworkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true
  return error instanceof Error && /socket hang up|aborted/i.test(error.message) && !(error instanceof AirlockError)
}

/** True for errors that this module marked as transient (details.retryable). */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof AirlockError) return error.details?.retryable === true
  return isRetryableNetworkError(error)
}

const MAX_ERROR_BODY = 64 * 1024

/** Reads at most 64 KiB of an error body (it is only for the message) and discards the rest. */
export async function readErrorBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (size < MAX_ERROR_BODY) chunks.push(chunk.subarray(0, MAX_ERROR_BODY - size))
      size += chunk.length
    }
  } catch {
    // a broken error body does not change the error we report
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The registry's own error codes and messages, on one line: "MANIFEST_UNKNOWN: manifest unknown". */
export function describeErrorBody(body: string): string {
  try {
    const json = JSON.parse(body) as {errors?: Array<{code?: unknown; message?: unknown}>}
    if (Array.isArray(json.errors) && json.errors.length > 0)
      return json.errors
        .slice(0, 5)
        .map(e => [e.code, e.message].filter(part => typeof part === 'string' && part.length > 0).join(': '))
        .filter(s => s.length > 0)
        .join('; ')
  } catch {
    // not JSON: fall through to the text
  }
  // An HTML error page from a proxy (nginx's 413): its title says it all.
  const title = /<title>([^<]{1,200})<\/title>/i.exec(body)?.[1]
  if (title && /<html/i.test(body)) return title.trim()
  const text = body.replace(/\s+/g, ' ').trim()
  return text.length > 200 ? `${text.slice(0, 200)}...` : text
}

/** Builds the error for an unexpected status. `what` names the operation: "GET manifest ghcr.io/a/b:1". */
/** Docker Hub's rate-limit headers (RateLimit-Limit "100;w=21600", RateLimit-Remaining, RateLimit-Reset), for the message. */
function rateLimitDetail(headers: IncomingHttpHeaders | undefined): {text: string; resetAt?: string} {
  if (!headers) return {text: ''}
  const get = (name: string): string | undefined => {
    const value = headers[name]
    return Array.isArray(value) ? value[0] : value
  }
  const parts: string[] = []
  const limit = get('ratelimit-limit')
  const remaining = get('ratelimit-remaining')
  if (limit)
    parts.push(
      `limit ${limit.split(';')[0]}${/w=(\d+)/.test(limit) ? ` per ${Math.round(Number(/w=(\d+)/.exec(limit)![1]) / 3600)} h` : ''}`,
    )
  if (remaining) parts.push(`${remaining.split(';')[0]} left`)
  const source = get('docker-ratelimit-source')
  if (source) parts.push(`counted for ${source}`)
  let resetAt: string | undefined
  const reset = get('ratelimit-reset') ?? get('retry-after')
  if (reset && /^\d+$/.test(reset.trim()))
    resetAt = new Date(Date.now() + Number(reset) * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
  else if (reset && !Number.isNaN(Date.parse(reset)))
    resetAt = new Date(Date.parse(reset)).toISOString().replace(/\.\d+Z$/, 'Z')
  if (resetAt) parts.push(`resets at ${resetAt}`)
  return {text: parts.join(', '), ...(resetAt ? {resetAt} : {})}
}

export function statusError(
  what: string,
  status: number,
  body: string,
  host: string,
  headers?: IncomingHttpHeaders,
): AirlockError {
  const detail = describeErrorBody(body)
  const message = `${what}: HTTP ${status}${detail ? ` (${detail})` : ''}`
  const retryable = isRetryableStatus(status)
  let code: ErrorCode = 'REGISTRY_ERROR'
  let hint: string | undefined
  if (status === 401 || status === 403) {
    code = 'UNAUTHORIZED'
    hint =
      status === 401
        ? `log in to ${host} (docker login ${host}) or pass --username/--password-stdin`
        : `the credentials for ${host} are valid but lack permission for this repository`
  } else if (status === 404) {
    code = 'NOT_FOUND'
    if (/NAME_UNKNOWN/.test(detail)) hint = `the repository does not exist on ${host}: check its name`
    else if (/MANIFEST_UNKNOWN/.test(detail))
      hint = `${host} has no such tag or digest in that repository: check the tag`
    else if (!detail) hint = `${host} has no such repository, tag or digest: check the name and the tag`
  } else if (status === 429) {
    const limits = rateLimitDetail(headers)
    hint = `${host} is rate limiting${limits.text ? ` (${limits.text})` : ''}: try again ${limits.resetAt ? `after ${limits.resetAt}` : 'later'} or log in for a higher limit`
  } else if (status === 413) {
    hint = `a proxy in front of ${host} limits request bodies: raise or lift its limit (nginx: client_max_body_size 0, as registry recipes set it)`
  } else if (status === 400 && /HTTP request to an HTTPS server/i.test(body)) {
    hint = `${host} serves HTTPS: drop it from --insecure-registry`
  }
  return new AirlockError(code, message, {...(hint ? {hint} : {}), details: {status, retryable, registry: host}})
}

const UNTRUSTED_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
])

/** What a socket-level failure means for the user, and what to do about it. */
function explain(
  code: string,
  message: string,
  host: string,
  insecure: boolean,
  timeoutMs: number | undefined,
): {reason: string; hint?: string} | undefined {
  if (code === 'ECONNREFUSED')
    return {
      reason: `nothing is listening at ${host}`,
      hint: 'check the host and port, and that the registry is running',
    }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
    return {
      reason: `the name ${host.replace(/:\d+$/, '')} does not resolve`,
      hint: 'check the name and DNS; behind a proxy, set HTTPS_PROXY (and NO_PROXY for local registries)',
    }
  if (UNTRUSTED_CERT_CODES.has(code))
    return {
      reason: `the TLS certificate of ${host} is not trusted (${code})`,
      hint: `pass its CA with --ca-file CA.pem, or put it in /etc/containers/certs.d/${host}/ca.crt`,
    }
  if (code === 'CERT_HAS_EXPIRED')
    return {reason: `the TLS certificate of ${host} has expired`, hint: `ask the operator of ${host} to renew it`}
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return {
      reason: `the TLS certificate of ${host} is not for that name`,
      hint: 'use the name the certificate was issued for',
    }
  if (
    code === 'EPROTO' ||
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    /wrong version number|packet length too long/i.test(message)
  )
    return {
      reason: `${host} did not answer with TLS`,
      hint: `if it serves plain HTTP, pass --insecure-registry ${host}`,
    }
  if (/certificate required|alert handshake failure|alert bad certificate/i.test(message))
    return {
      reason: `${host} wants a client certificate (mTLS) and did not accept ours`,
      hint: `pass --client-cert/--client-key, or put client.cert and client.key in /etc/containers/certs.d/${host}/`,
    }
  if (code === 'ETIMEDOUT' && timeoutMs !== undefined)
    return {
      reason: `${host} sent nothing for ${Math.round(timeoutMs / 1000)} s`,
      hint: 'a slow link or a stalled proxy: raise --timeout SECONDS if the registry is just slow',
    }
  if (code === 'ECONNRESET' && insecure)
    return {reason: `${host} closed the connection`, hint: `if ${host} serves HTTPS, drop it from --insecure-registry`}
  return undefined
}

export function networkError(
  what: string,
  error: unknown,
  context: {host?: string; insecure?: boolean; timeoutMs?: number} = {},
): AirlockError {
  const err = error as NodeJS.ErrnoException & {timeoutMs?: number}
  const code = typeof err?.code === 'string' ? err.code : ''
  const message = String(err?.message ?? error)
  const known = context.host
    ? explain(code, message, context.host, context.insecure ?? false, err?.timeoutMs ?? context.timeoutMs)
    : undefined
  const reason = known?.reason ?? (code ? `${code}${message && !message.includes(code) ? ` ${message}` : ''}` : message)
  return new AirlockError('NETWORK_ERROR', `${what}: ${reason.split('\n')[0]}`, {
    cause: error,
    ...(known?.hint ? {hint: known.hint} : {}),
    details: {retryable: isRetryableNetworkError(error), ...(code ? {code} : {})},
  })
}
