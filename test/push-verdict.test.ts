// Issue 10: the mirror receives exactly what verify judged. Each case is a crafted archive pushed through the built
// CLI into a real registry (Distribution), with the documented `"**"` skip policy (so only integrity, structure
// and bindings stand between the archive and the mirror): every case must exit 1 naming the problem, and the
// registry must stay empty. Then the tag-move rule (finding 1) and the file identity check (finding 6).
import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openVerifiedArchive} from '../src/verify/open.ts'
import {Archive, makeBaseArchive, OCI_MANIFEST} from './support/hostile/base.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {type CliRun, runCli} from './support/cli.ts'

const top = mkdtempSync(join(tmpdir(), 'airlock-verdict-'))
mkdirSync(join(top, 'base'))
const base = makeBaseArchive(join(top, 'base'))
const policyFile = join(top, 'skip.yaml')
writeFileSync(policyFile, 'rules:\n  - image: "**"\n    skip: true\n')

function cli(...args: string[]): Promise<CliRun> {
  return runCli(args, {cwd: top})
}

function write(name: string, archive: Archive): string {
  const file = join(top, `${name}.tar`)
  writeFileSync(file, archive.toTar())
  return file
}

function edit(fn: (a: Archive) => void): Archive {
  const a = Archive.parse(base.bytes)
  fn(a)
  return a
}

function setAirlock(a: Archive, fn: (doc: any) => void): void {
  const doc = a.json('airlock.json')
  fn(doc)
  a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
}

let registry: StartedRegistry
const catalog = async (): Promise<string[]> =>
  ((await (await fetch(`${registry.url}/v2/_catalog`)).json()) as {repositories: string[]}).repositories

before(async () => {
  registry = await startRegistry({auth: 'none'})
})
after(async () => {
  await registry?.stop()
  rmSync(top, {recursive: true, force: true})
})

describe('push writes only what verify judged (issue 10)', () => {
  const refused = async (name: string, archive: Archive, message: RegExp) => {
    const file = write(name, archive)
    const prefix = `case-${name}`
    const r = await cli(
      'push',
      file,
      `${registry.host}/${prefix}`,
      '--policy',
      policyFile,
      '--insecure-registry',
      registry.host,
    )
    assert.equal(r.status, 1, `${name}: ${r.stderr}`)
    assert.match(r.stderr, message, name)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    assert.ok(!(await catalog()).some(repo => repo.startsWith(`${prefix}/`)), `${name}: something reached the registry`)
    const v = await cli('verify', file, '--signatures', 'skip')
    assert.equal(v.status, 1, `${name}: verify must refuse it too: ${v.stdout}`)
  }

  it('finding 2: a duplicate airlock.json record (first wins in push, last in verify) is refused', async () => {
    const a = edit(a =>
      setAirlock(a, doc => {
        const single = doc.images[0]
        const multi = doc.images[1]
        // The genuine reference with another image's digest and the tag, listed first.
        doc.images.unshift({...single, digest: multi.digest, mediaType: multi.mediaType, size: multi.size})
      }),
    )
    await refused('dup-record', a.reseal(), /airlock\.json lists single more than once/)
  })

  it('finding 2: a duplicate index.json entry is refused', async () => {
    const a = edit(a => {
      const index = a.json('index.json')
      index.manifests.push({
        ...index.manifests[1],
        annotations: {...index.manifests[1].annotations, 'org.opencontainers.image.ref.name': 'single'},
      })
      a.set('index.json', Buffer.from(JSON.stringify(index)))
    })
    await refused('dup-index', a.reseal(), /index\.json lists single more than once|airlock\.json says single/)
  })

  it('finding 2: airlock.json must equal index.json entry for entry (media type, size)', async () => {
    const a = edit(a => setAirlock(a, doc => (doc.images[0].size += 1)))
    await refused('record-size', a.reseal(), /airlock\.json says single is \d+ bytes but index\.json says/)
  })

  it('finding 7: a record tag that disagrees with its reference is refused', async () => {
    const a = edit(a => setAirlock(a, doc => (doc.images[0].tag = 'latest')))
    await refused('tag-mismatch', a.reseal(), /gives single the tag "latest", but its reference says "single"/)
  })

  it('finding 7: a reference pinned to another digest is refused', async () => {
    const a = edit(a => {
      const index = a.json('index.json')
      const doc = a.json('airlock.json')
      const other = doc.images[1].digest
      const pinned = `example.test/app@${other}`
      index.manifests[0].annotations['org.opencontainers.image.ref.name'] = pinned
      doc.images[0].reference = pinned
      delete doc.images[0].tag
      a.set('index.json', Buffer.from(JSON.stringify(index)))
      a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    })
    await refused('pinned', a.reseal(), / but the archive's image is sha256:[0-9a-f]{64}$/m)
  })

  it('finding 3: a platform airlock.json says was not carried, but is in the archive, is refused', async () => {
    const a = edit(a =>
      setAirlock(a, doc => {
        doc.images[1].filtered = true
        doc.images[1].platforms = doc.images[1].platforms.slice(0, 1)
      }),
    )
    await refused('uncarried-child', a.reseal(), /says that platform was not carried/)
  })

  it('finding 4: a signature tag that does not name its subject is refused', async () => {
    const a = edit(a => {
      const doc = a.json('airlock.json')
      const single = doc.images[0].digest as string
      const other = (doc.images[1].digest as string).replace('sha256:', '')
      const payload = a.addBlob('application/vnd.dev.cosign.simplesigning.v1+json', Buffer.from('{"critical":{}}'))
      const config = a.addBlob('application/vnd.oci.image.config.v1+json', Buffer.from('{}'))
      const sig = a.addBlob(
        OCI_MANIFEST,
        Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [payload]})),
      )
      doc.signatures = {
        version: 1,
        subjects: [
          {
            image: 'single',
            digest: single,
            entries: [{kind: 'legacy-tag', tag: `sha256-${other}.sig`, role: 'signature', descriptor: sig}],
          },
        ],
      }
      a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    })
    await refused('unbound-tag', a.reseal(), /signature tag sha256-[0-9a-f]{64}\.sig does not name its subject/)
  })

  it('finding 4: a signature attached to a subject outside the image is refused', async () => {
    const a = edit(a => {
      const doc = a.json('airlock.json')
      const multi = doc.images[1].digest as string
      const config = a.addBlob('application/vnd.oci.image.config.v1+json', Buffer.from('{"x":1}'))
      const sig = a.addBlob(
        OCI_MANIFEST,
        Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: []})),
      )
      doc.signatures = {
        version: 1,
        subjects: [
          {
            image: 'single',
            digest: multi,
            entries: [{kind: 'legacy-tag', tag: `sha256-${multi.slice(7)}.sig`, role: 'signature', descriptor: sig}],
          },
        ],
      }
      a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    })
    await refused('foreign-subject', a.reseal(), /neither the image nor one of its judged manifests/)
  })
})

describe('finding 1: a mirror tag pointing at other content is not moved without --force', () => {
  it('refuses naming the old digest, then moves it with --force', async () => {
    const file = write('honest', Archive.parse(base.bytes))
    const args = ['--policy', policyFile, '--insecure-registry', registry.host]
    assert.equal((await cli('push', file, `${registry.host}/moves`, ...args)).status, 0)
    // The same tag now names another image in the mirror (another push, another tool).
    const other = edit(a => {
      const index = a.json('index.json')
      const doc = a.json('airlock.json')
      // 'single' keeps its content under another name; the index takes the name 'single:single' (same mirror tag).
      index.manifests[0].annotations['org.opencontainers.image.ref.name'] = 'other'
      index.manifests[1].annotations['org.opencontainers.image.ref.name'] = 'single:single'
      doc.images[0] = {...doc.images[0], reference: 'other', tag: 'other'}
      doc.images[1] = {...doc.images[1], reference: 'single:single', tag: 'single'}
      a.set('index.json', Buffer.from(JSON.stringify(index)))
      a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    })
    const single = Archive.parse(base.bytes).json('airlock.json').images[0].digest as string
    const moved = await cli('push', write('other', other.reseal()), `${registry.host}/moves`, ...args)
    assert.equal(moved.status, 1, moved.stderr)
    assert.match(moved.stderr, new RegExp(`library/single:single already points at ${single}`))
    assert.match(moved.stderr, /--force/)
    const forced = await cli('push', join(top, 'other.tar'), `${registry.host}/moves`, ...args, '--force')
    assert.equal(forced.status, 0, forced.stderr)
  })
})

describe('finding 6: the archive is opened once and must stay the file that was verified', () => {
  it('a file changed after verification is refused before anything is written', async () => {
    const file = write('identity', Archive.parse(base.bytes))
    const verified = await openVerifiedArchive(file, {signatures: 'skip'})
    try {
      assert.ok(verified.verdict)
      await verified.archive.checkUnchanged()
      utimesSync(file, new Date(), new Date(Date.now() + 5000))
      await assert.rejects(verified.archive.checkUnchanged(), /changed while airlock was reading it/)
    } finally {
      await verified.close()
    }
  })
})

describe('finding 1: the host dropped from the mirror path cannot pick a weaker rule', () => {
  it('refuses an image whose rule depends on its host without --keep-host, and pushes it with --keep-host', async () => {
    const policy = join(top, 'hosts.yaml')
    const pem = generateKeyPairSync('ec', {namedCurve: 'P-256'})
      .publicKey.export({type: 'spki', format: 'pem'})
      .toString()
    writeFileSync(
      policy,
      `rules:\n  - image: ghcr.io/siderolabs/**\n    publicKey:\n      certificate: |\n${pem
        .trim()
        .split('\n')
        .map(l => `        ${l}`)
        .join('\n')}\n  - image: "**"\n    skip: true\n`,
    )
    const renamed = edit(a => {
      const index = a.json('index.json')
      const doc = a.json('airlock.json')
      index.manifests[0].annotations['org.opencontainers.image.ref.name'] = 'quay.io/siderolabs/installer:v1'
      doc.images[0] = {...doc.images[0], reference: 'quay.io/siderolabs/installer:v1', tag: 'v1'}
      a.set('index.json', Buffer.from(JSON.stringify(index)))
      a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
    })
    const file = write('quay', renamed.reseal())
    const args = ['--policy', policy, '--insecure-registry', registry.host]
    const dropped = await cli('push', file, `${registry.host}/hosts`, ...args)
    assert.equal(dropped.status, 1, dropped.stderr)
    assert.match(dropped.stderr, /also answers pulls of ghcr\.io\/siderolabs\/installer:v1/)
    assert.match(dropped.stderr, /--keep-host/)
    assert.ok(!(await catalog()).some(r => r.startsWith('hosts/')), 'nothing may be written')
    const kept = await cli('push', file, `${registry.host}/hosts`, ...args, '--keep-host')
    assert.equal(kept.status, 0, kept.stderr)
    assert.ok((await catalog()).includes('hosts/quay.io/siderolabs/installer'))
  })
})

describe('finding 3: an honest export --platform archive', () => {
  it('verifies, pushes the carried platform and the index as they are, and a strict registry refusing the index is explained', async () => {
    const out = join(top, 'filtered.tar')
    const e = await cli(
      'export',
      '--no-tuf',
      '--signatures',
      'optional',
      '--platform=linux/amd64',
      '-o',
      out,
      `oci:${join(top, 'base', 'source-layout')}:multi`,
    )
    assert.equal(e.status, 0, e.stderr)
    assert.equal((await cli('verify', out, '--signatures', 'skip')).status, 0)
    // Distribution 2.x requires every child of an index: the push fails at the index, with the reason and the way out,
    // after the carried platform landed (by digest) and before any tag was written.
    const r = await cli(
      'push',
      out,
      `${registry.host}/filtered`,
      '--policy',
      policyFile,
      '--insecure-registry',
      registry.host,
    )
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /exported with --platform \(1 of 2 platforms carried\)/)
    const tags = await fetch(`${registry.url}/v2/filtered/library/multi/tags/list`)
    assert.ok(
      tags.status === 404 || ((await tags.json()) as {tags?: string[] | null}).tags?.length === undefined,
      'no tag may be written',
    )
  })
})
