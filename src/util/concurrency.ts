// A tiny counting semaphore. Export fetches blobs in parallel but must bound open connections and disk writes,
// so work is funnelled through a limiter rather than started with an unbounded Promise.all.

export class Limiter {
  private active = 0
  /** Waiting tasks, highest priority first; equal priorities keep their arrival order. */
  private readonly waiting: Array<{priority: number; start: () => void}> = []

  readonly limit: number

  constructor(limit: number) {
    this.limit = limit
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${limit}`)
  }

  /**
   * Runs `task` when a slot is free. When tasks wait, the one with the highest `priority` starts next (default 0,
   * first come first served): export gives a blob its size, so the longest downloads start first and the last
   * one to finish is not a big layer that happened to be discovered late (docs/DECISIONS.md).
   */
  async run<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    if (this.active >= this.limit)
      await new Promise<void>(start => {
        let at = this.waiting.length
        while (at > 0 && this.waiting[at - 1]!.priority < priority) at--
        this.waiting.splice(at, 0, {priority, start})
      })
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.start()
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
