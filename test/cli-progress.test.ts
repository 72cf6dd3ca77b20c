// Issue 12 item 8: progress people can read. On a terminal (a real pty from util-linux `script`), verify and push
// redraw one line: bytes done of the total, percent, rate, ETA and what is being worked on; push shows its
// verification pass and its uploads (export's line: test/cli-export-progress.test.ts). --quiet silences it; a
// terminal reporting 0 columns still gets a line; without a terminal, plain lines every few seconds; an interrupted
// push says what was pushed and that a re-run resumes.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {exportImages} from '../src/export/export.ts'
import {Progress} from '../src/util/progress.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'
import {onPty, redraws} from './support/pty.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('progress', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let layout: string
  let mirror: StartedRegistry
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-progress-'))
    layout = join(dir, 'layout')
    const b = await LayoutBuilder.create(layout)
    const layers = []
    for (let i = 0; i < 4; i++) layers.push(await b.randomLayer(24 * 1024 * 1024))
    await b.tag(await b.image(layers), 'example.com/big/app:1')
    archive = join(dir, 'big.tar')
    await exportImages({sources: [`oci:${layout}:example.com/big/app:1`], output: archive})
    mirror = await startRegistry()
  })
  after(async () => {
    await mirror?.stop()
    await cleanup?.()
  })

  it('verify on a terminal: one redrawn line with bytes of total, percent, rate and ETA', async () => {
    const r = await onPty(['verify', '--signatures', 'skip', archive])
    assert.equal(r.status, 0, r.out)
    const line =
      /^verifying .*big\.tar {2}[\d.]+ [KMG]?B of 100\.\d MB {2}\d{1,3}% {2}[\d.]+ [KMG]?B\/s {2}ETA (\d+s|\d+m\d\ds|\?)/
    // how many frames a real run draws depends on the machine's speed (a fast one hashes 100 MB within one 200 ms
    // redraw interval); the throttled redrawing itself is shown in process below
    assert.ok(redraws(r.out, line) >= 1, `no redrawn progress line in: ${JSON.stringify(r.out.slice(0, 2000))}`)
    assert.match(r.out, /integrity verified, signatures NOT checked/)
  })

  it('a terminal that reports 0 columns still gets a (bounded) line; --quiet gets none', async () => {
    const zero = await onPty(['verify', '--signatures', 'skip', archive], {columns: 0})
    assert.equal(zero.status, 0, zero.out)
    assert.ok(redraws(zero.out, /^verifying .*%/) >= 1, JSON.stringify(zero.out.slice(0, 1000)))
    for (const frame of zero.out.split('\r\x1b[K')) assert.ok(frame.split(/\r?\n/)[0]!.length < 80, frame)
    const quiet = await onPty(['verify', '--quiet', '--signatures', 'skip', archive])
    assert.equal(quiet.status, 0, quiet.out)
    assert.doesNotMatch(quiet.out, /ETA|\x1b\[K/)
  })

  it('push on a terminal: its verification pass and its uploads, each with percent and ETA', async () => {
    const r = await onPty([
      'push',
      '--insecure-registry',
      mirror.host,
      '--signatures',
      'skip',
      archive,
      `${mirror.host}/p1`,
    ])
    assert.equal(r.status, 0, r.out)
    assert.ok(
      redraws(r.out, /^push: verifying .* of 100\.\d MB {2}\d+% .* ETA /) >= 1,
      JSON.stringify(r.out.slice(0, 3000)),
    )
    assert.ok(
      redraws(r.out, /^push: (uploading to|[\w./-]+) .* of [\d.]+ MB {2}\d+% .* ETA /) >= 1,
      JSON.stringify(r.out.slice(0, 3000)),
    )
  })

  it('Ctrl-C during a push: the message starts on its own line, says what was pushed and that a re-run resumes', async () => {
    const r = await onPty(
      [
        'push',
        '--insecure-registry',
        mirror.host,
        '--signatures',
        'skip',
        '--concurrency',
        '1',
        archive,
        `${mirror.host}/p2`,
      ],
      {
        signalAfter: out => /push: (uploading|[\w./-]+\/big\/app)/.test(out),
      },
    )
    assert.equal(r.status, 130, r.out)
    assert.match(
      r.out,
      /(\r\x1b\[K|\n)airlock: error: push interrupted \(SIGINT\): \d+ blobs? \([\d.]+ [KMG]?B\), \d+ manifests? and \d+ tags? were pushed/,
    )
    assert.match(r.out, /airlock: hint: run the same command again to resume/)
  })

  it('without a terminal: a plain line every few seconds, nothing for short work', async () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', d => (text += d))
    const quick = new Progress({enabled: true, out, total: 1000})
    quick.setLabel('short')
    quick.add(10)
    quick.finish()
    assert.equal(text, '')
    const slow = new Progress({enabled: true, out, total: 1000, plainEveryMs: 50})
    slow.setLabel('long work')
    for (let i = 0; i < 3; i++) {
      await new Promise(r => setTimeout(r, 60))
      slow.add(100)
    }
    slow.finish()
    const lines = text.trimEnd().split('\n')
    assert.ok(lines.length >= 2, text)
    for (const line of lines) assert.match(line, /^progress: long work {2}\d+ B of 1\.0 KB {2}\d+% {2}.*\/s {2}ETA /)
    assert.doesNotMatch(text, /\x1b/)
  })
})

describe('progress on a terminal, in process', () => {
  it('one line redrawn in place: at once for a new label, at most every 200 ms for bytes, cleared at the end', async () => {
    const out = Object.assign(new PassThrough(), {isTTY: true, columns: 100})
    let text = ''
    out.on('data', d => (text += d))
    const bar = new Progress({enabled: true, out, total: 1000})
    bar.setLabel('verifying big.tar')
    bar.add(100) // within the interval: not drawn
    const frames = () => text.split('\r\x1b[K').filter(Boolean)
    assert.equal(frames().length, 1, JSON.stringify(text))
    await new Promise(r => setTimeout(r, 250))
    bar.add(400)
    assert.deepEqual(
      frames().map(f => f.replace(/ {2}[\d.]+ [KMG]?B\/s {2}ETA .*$/, '')),
      ['verifying big.tar  0 B of 1.0 KB  0%', 'verifying big.tar  500 B of 1.0 KB  50%'],
    )
    assert.doesNotMatch(text, /\n/)
    bar.finish()
    assert.ok(text.endsWith('\r\x1b[K'), JSON.stringify(text))
  })
})
