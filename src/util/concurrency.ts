// A tiny counting semaphore. Export fetches blobs in parallel but must bound open connections and disk writes,
// so work is funnelled through a limiter rather than started with an unbounded Promise.all.

export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  readonly limit: number

  constructor(limit: number) {
    this.limit = limit
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${limit}`)
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>(resolve => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** Serializes async critical sections (e.g. appends to one tar stream) in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  lock<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task)
    this.tail = result.catch(() => undefined)
    return result
  }
}
