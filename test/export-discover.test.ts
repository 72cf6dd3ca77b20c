// Export starts each image's discovery (ExportHooks.discover: signature look-ups) as soon as its graph is in the
// archive, for several images at once, while extraRoots and afterImage still run image by image in order (issue 11:
// discovery one image after another cost a third of the export time on 8 small images).
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {exportImages} from '../src/export/export.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'

describe('export: discovery of all images runs concurrently, hooks stay in order', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const names = ['a', 'b', 'c', 'd']

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    for (const name of names)
      await b.tag(await b.image([await b.blob(randomBytes(500), MediaType.OciLayerGzip)]), `example.com/t/${name}:1`)
  })
  after(async () => cleanup())

  it('every image is being discovered before the first image finishes its hooks', async () => {
    const events: string[] = []
    const started = new Set<string>()
    let allStarted: () => void = () => undefined
    const everyDiscoveryStarted = new Promise<void>(resolve => (allStarted = resolve))
    const result = await exportImages({
      sources: names.map(n => `oci:${dir}/layout:example.com/t/${n}:1`),
      output: join(dir, 'out.tar'),
      hooks: {
        discover: ({image}) => {
          started.add(image.reference)
          events.push(`discover ${image.reference}`)
          if (started.size === names.length) allStarted()
        },
        extraRoots: async ({image}) => {
          // The first image's hook waits for every image's discovery to have begun: with discovery run one image
          // after another this would never resolve (the test would time out instead of passing).
          if (image.reference.endsWith('/a:1'))
            await Promise.race([
              everyDiscoveryStarted,
              new Promise((_, reject) => setTimeout(() => reject(new Error('discovery is not concurrent')), 20_000)),
            ])
          events.push(`extraRoots ${image.reference}`)
          return []
        },
      },
    })
    assert.equal(result.images.length, names.length)
    assert.deepEqual(
      events.filter(e => e.startsWith('extraRoots')),
      names.map(n => `extraRoots example.com/t/${n}:1`),
      'hooks in image order',
    )
    assert.ok(
      events.indexOf(`discover example.com/t/${names.at(-1)}:1`) < events.indexOf(`extraRoots example.com/t/a:1`),
    )
  })
})
