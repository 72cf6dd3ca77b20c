// Turning registry answers into AirlockErrors: one line that names the operation, the status and the registry's
// own error codes (`errors[].code/message` of the distribution spec), plus whether trying again could help.
import type {IncomingMessage} from 'node:http'
import {AirlockError, type ErrorCode} from '../errors.ts'

/** Statuses worth another attempt: the registry is overloaded or briefly broken, not refusing us. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505)
}

/** Error codes of Node sockets that mean "the connection broke", where a retry may well succeed. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE'])

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
        .map((e) => [e.code, e.message].filter((part) => typeof part === 'string' && part.length > 0).join(': '))
        .filter((s) => s.length > 0)
        .join('; ')
  } catch {
    // not JSON: fall through to the text
  }
  const text = body.replace(/\s+/g, ' ').trim()
  return text.length > 200 ? `${text.slice(0, 200)}...` : text
}

/** Builds the error for an unexpected status. `what` names the operation: "GET manifest ghcr.io/a/b:1". */
export function statusError(what: string, status: number, body: string, host: string): AirlockError {
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
  } else if (status === 429) {
    hint = `${host} is rate limiting: try again later or authenticate for a higher limit`
  }
  return new AirlockError(code, message, {...(hint ? {hint} : {}), details: {status, retryable, registry: host}})
}

export function networkError(what: string, error: unknown): AirlockError {
  const err = error as NodeJS.ErrnoException
  const reason = err?.code ? `${err.code}${err.message && !err.message.includes(err.code) ? ` ${err.message}` : ''}` : String(err?.message ?? error)
  return new AirlockError('NETWORK_ERROR', `${what}: ${reason.split('\n')[0]}`, {cause: error, details: {retryable: isRetryableNetworkError(error)}})
}
