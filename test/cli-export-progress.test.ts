// Issue 12 item 8 for export: its total is not known up front, so the line showed bytes and rate only. The total is
// now the sum of the sizes the resolved manifests name (it grows while more graphs, signatures included, are
// discovered, and says so: "of at least"), so the redrawn line has bytes done of the total, percent, rate, ETA and
// the current image, on a real pty; a terminal reporting 0 columns still gets a bounded line.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {LayoutBuilder, tempDir} from './support/layouts.ts'
import {onPty, redraws} from './support/pty.ts'

describe('export progress on a terminal', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let sources: string[]
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-export-progress-'))
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    for (const name of ['one', 'two']) {
      const layers = []
      for (let i = 0; i < 2; i++) layers.push(await b.randomLayer(24 * 1024 * 1024))
      await b.tag(await b.image(layers), `example.com/big/${name}:1`)
    }
    sources = ['one', 'two'].map(name => `oci:${join(dir, 'layout')}:example.com/big/${name}:1`)
  })
  after(() => cleanup())

  const exportArgs = (out: string) => ['export', '--no-tuf', '--signatures', 'skip', '-o', join(dir, out), ...sources]
  const line =
    /^\[[12]\/2\] oci:.*example\.com\/big\/(one|two):1 {2}[\d.]+ [KMG]?B of at least [\d.]+ MB {2}\d{1,3}% {2}[\d.]+ [KMG]?B\/s {2}ETA (\d+s|\d+m\d\ds|\?)/

  it('one redrawn line: the current image, bytes done of the known total, percent, rate and ETA', async () => {
    const r = await onPty(exportArgs('a.tar'))
    assert.equal(r.status, 0, r.out)
    assert.ok(redraws(r.out, line) >= 2, `no redrawn progress line in: ${JSON.stringify(r.out.slice(0, 2000))}`)
    // The known total never exceeds what is written in the end (100.7 MB of layers, plus small manifests).
    for (const m of r.out.matchAll(/of at least ([\d.]+) MB/g)) assert.ok(Number(m[1]) <= 100.8, m[0])
    assert.match(r.out, /wrote .*a\.tar: 2 image\(s\)/)
  })

  it('a terminal that reports 0 columns still gets a bounded line with percent', async () => {
    const r = await onPty(exportArgs('b.tar'), {columns: 0})
    assert.equal(r.status, 0, r.out)
    // The figures stay whole; the long oci: label gives way in the middle.
    assert.ok(
      redraws(r.out, /^\[[12]\/2\] oci:.*….* of at least .*% .* ETA /) >= 1,
      JSON.stringify(r.out.slice(0, 1000)),
    )
    const progressFrames = r.out.split('\r\x1b[K').map(frame => frame.split(/\r?\n/)[0]!)
    for (const frame of progressFrames.filter(f => f.startsWith('['))) assert.ok(frame.length < 80, frame)
  })
})
