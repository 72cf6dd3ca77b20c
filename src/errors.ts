// Errors are values: a stable machine-readable code, a one-line human message, and an optional hint that says
// what to do. The command layer turns them into exit codes and text; nothing below it prints or exits.

export type ErrorCode =
  | 'USAGE' // bad flags or arguments (exit 2)
  | 'REFERENCE_INVALID' // an image reference that does not parse
  | 'NOT_FOUND' // manifest, blob, tag or file that does not exist
  | 'UNAUTHORIZED' // registry refused our credentials
  | 'REGISTRY_ERROR' // registry answered with an unexpected status or body
  | 'NETWORK_ERROR' // connection failed after retries
  | 'DIGEST_MISMATCH' // content does not hash to its name
  | 'SIZE_MISMATCH' // content is not the size its descriptor says
  | 'TOO_LARGE' // content over a safety limit
  | 'MANIFEST_INVALID' // manifest/index/config that does not parse or validate
  | 'UNSUPPORTED' // media type, digest algorithm or feature we do not handle
  | 'ARCHIVE_INVALID' // the archive's structure is wrong (entries, names, types, layout)
  | 'ARCHIVE_INCOMPLETE' // something referenced is not in the archive
  | 'SIGNATURE_MISSING' // no signature where one is required
  | 'SIGNATURE_INVALID' // a signature, certificate, log entry or proof that does not verify
  | 'POLICY_DENIED' // valid signatures, but none satisfies the policy
  | 'TRUST_INVALID' // TUF metadata or trusted root that does not verify
  | 'TAG_CONFLICT' // a mirror tag already points at other content (push moves it only with --force)
  | 'IO_ERROR' // local file system failure (ENOSPC, permissions ...)
  | 'INTERRUPTED' // SIGINT/SIGTERM
  | 'INTERNAL'

export class AirlockError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(
    code: ErrorCode,
    message: string,
    options: {cause?: unknown; hint?: string; details?: Record<string, unknown>} = {},
  ) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'AirlockError'
    this.code = code
    if (options.hint !== undefined) this.hint = options.hint
    if (options.details !== undefined) this.details = options.details
  }

  /** Exit status the CLI uses: 2 for usage errors, 1 for everything else (verification failures included). */
  get exitCode(): number {
    return this.code === 'USAGE' ? 2 : 1
  }
}

export function isAirlockError(error: unknown): error is AirlockError {
  return error instanceof AirlockError
}

/** Wraps anything thrown by a dependency into an AirlockError, keeping AirlockErrors as they are. */
export function toAirlockError(error: unknown, fallback: ErrorCode = 'INTERNAL'): AirlockError {
  if (error instanceof AirlockError) return error
  const err = error as NodeJS.ErrnoException | undefined
  if (err && typeof err.code === 'string') {
    if (err.code === 'ENOENT') return new AirlockError('NOT_FOUND', `${err.message}`, {cause: error})
    if (err.code === 'ENOSPC')
      return new AirlockError('IO_ERROR', `no space left on device${err.path ? ` writing ${err.path}` : ''}`, {
        cause: error,
      })
    if (
      ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(
        err.code,
      )
    )
      return new AirlockError('NETWORK_ERROR', err.message, {cause: error})
    if (['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EROFS'].includes(err.code))
      return new AirlockError('IO_ERROR', err.message, {cause: error})
  }
  const message = error instanceof Error ? error.message : String(error)
  return new AirlockError(fallback, message.split('\n')[0] ?? message, {cause: error})
}
