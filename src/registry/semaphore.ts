// A counting semaphore: bounds how many blob transfers run at once, whoever starts them.

export class Semaphore {
  private available: number
  private readonly waiting: Array<() => void> = []

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1)
      throw new RangeError(`semaphore needs at least 1 permit, got ${permits}`)
    this.available = permits
  }

  /** Waits for a permit; call the returned function exactly once to give it back (extra calls are ignored). */
  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--
    else await new Promise<void>(resolve => this.waiting.push(resolve))
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next()
      else this.available++
    }
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await task()
    } finally {
      release()
    }
  }
}
