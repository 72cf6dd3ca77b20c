// When to try again: exponential backoff with jitter, or what the registry asked for with Retry-After.

/** Delay before retry number `attempt` (0-based): base * 2^attempt, jittered to half..full so clients spread out. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt)
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds, capped; undefined when absent or junk. */
export function retryAfterMs(
  header: string | string[] | undefined,
  maxMs: number,
  now = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return Math.min(maxMs, Number(value) * 1000)
  const date = Date.parse(value)
  if (Number.isNaN(date)) return undefined
  return Math.min(maxMs, Math.max(0, date - now))
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
