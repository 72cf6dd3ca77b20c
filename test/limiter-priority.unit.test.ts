// The Limiter's priorities (docs/DECISIONS.md "transfer order in the copy engine"): when tasks wait, the highest
// priority starts next, equal priorities in arrival order, and never more than the limit at once.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Limiter} from '../src/util/concurrency.ts'

function gate(): {promise: Promise<void>; open: () => void} {
  let open = () => {}
  const promise = new Promise<void>(resolve => (open = resolve))
  return {promise, open}
}

describe('Limiter priorities', () => {
  it('starts waiting tasks highest priority first, ties first come first served, within the limit', async () => {
    const limiter = new Limiter(1)
    const started: string[] = []
    let active = 0
    let peak = 0
    const first = gate()
    const task = (name: string, wait?: Promise<void>) => async () => {
      started.push(name)
      active++
      peak = Math.max(peak, active)
      await (wait ?? Promise.resolve())
      active--
    }
    const runs = [
      limiter.run(task('running', first.promise), 0),
      limiter.run(task('small-a'), 10),
      limiter.run(task('default')),
      limiter.run(task('big'), 1000),
      limiter.run(task('small-b'), 10),
      limiter.run(task('manifest'), Number.MAX_SAFE_INTEGER),
    ]
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(started, ['running'], 'the others wait for the one slot')
    first.open()
    await Promise.all(runs)
    assert.deepEqual(started, ['running', 'manifest', 'big', 'small-a', 'small-b', 'default'])
    assert.equal(peak, 1)
  })

  it('a failing task frees its slot for the next by priority', async () => {
    const limiter = new Limiter(1)
    const order: string[] = []
    const first = gate()
    const failing = limiter.run(async () => {
      await first.promise
      throw new Error('boom')
    })
    const low = limiter.run(async () => void order.push('low'), 1)
    const high = limiter.run(async () => void order.push('high'), 2)
    first.open()
    await assert.rejects(failing, /boom/)
    await Promise.all([low, high])
    assert.deepEqual(order, ['high', 'low'])
  })
})
