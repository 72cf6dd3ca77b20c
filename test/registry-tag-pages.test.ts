// GHCR's tag list (issue 18 item 11): without `n` it answers pages of 100 tags with a Link header to the next page
// (`?last=<tag>&n=100`), and tags past the first page are invisible to clients that stop there
// (argoproj-labs/argocd-image-updater#1660, renovatebot/renovate#36103). The front replays that paging over the real
// registry, which holds 250 tags; the client must return every tag, in order, from three pages.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {buildImage, makeWorkDir, pushImage} from './support/images.ts'
import {startQuirksFront, type QuirksFront} from './support/quirks-front.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('tag lists paged the way GHCR pages them (front over the real registry)', () => {
  let registry: StartedRegistry
  let front: QuirksFront
  const work = makeWorkDir('airlock-tag-pages-')
  const expected: string[] = []

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    front = await startQuirksFront(registry.host, 'ghcr')
    const direct = new RegistryClient({insecure: [registry.host]})
    try {
      const repo = direct.repository(parseReference(`${registry.host}/siderolabs/installer`))
      const image = await buildImage(work.dir)
      const descriptor = await pushImage(repo, image, 'v0')
      expected.push('v0')
      for (let i = 1; i < 250; i++) {
        const tag = `v1.${String(i).padStart(3, '0')}`
        await repo.tag(descriptor, tag)
        expected.push(tag)
      }
      expected.sort() // Distribution lists tags in lexical order
    } finally {
      direct.close()
    }
  })
  after(async () => {
    await front?.stop()
    await registry?.stop()
    work.cleanup()
  })

  it('follows the Link header through every page of 100 and returns all 250 tags once, in order', async () => {
    const client = new RegistryClient({insecure: [front.host]})
    try {
      const tags = await client.repository(parseReference(`${front.host}/siderolabs/installer`)).tags()
      assert.equal(tags.length, 250)
      assert.deepEqual(tags, expected)
    } finally {
      client.close()
    }
    const pages = front.log.filter(l => l.startsWith('GET /v2/siderolabs/installer/tags/list'))
    assert.equal(pages.length, 3, pages.join('\n'))
    assert.match(pages[0]!, /tags\/list -> 200$/, 'no n: the registry chooses the page size (GHCR: 100)')
    assert.match(pages[1]!, /[?&]last=v1\.099\b.*-> 200$/)
    assert.match(pages[2]!, /[?&]last=v1\.199\b.*-> 200$/)
  })
})
