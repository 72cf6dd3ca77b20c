// The layout files (oci-layout, index.json, airlock.json) are read whole by the header pass and parsed from those
// bytes; hashPendingEntries hashes the bytes that were parsed instead of reading them from the archive a second time
// (found by the mutation run: the loop meant to do this never assigned a digest, so they were read twice). Their
// sha256 is then of exactly what airlock parsed; a file changed between the reads is still caught by the identity
// check after the pass (test/archive-edges.unit.test.ts).
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {hashPendingEntries} from '../src/archive/hashing-pass.ts'
import {scanArchive} from '../src/archive/plain-source.ts'
import {blobName, digestOf, workDir} from './support/archive-unit.ts'
import {writeTar} from './support/hostile/tar.ts'

const work = workDir('airlock-layout-hash-')
const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
const index = Buffer.from('{"schemaVersion":2,"manifests":[]}')
const airlock = Buffer.from('{"formatVersion":1}')
const blob = randomBytes(3000)

describe('hashPendingEntries and the layout files', () => {
  it('hashes the layout bytes the pass parsed, not a re-read; progress still counts them once', async () => {
    const path = work.next('.tar')
    writeFileSync(
      path,
      writeTar([
        {name: 'oci-layout', body: layout},
        {name: 'blobs/', type: 'Directory'},
        {name: 'blobs/sha256/', type: 'Directory'},
        {name: blobName(blob), body: blob},
        {name: 'index.json', body: index},
        {name: 'airlock.json', body: airlock},
      ]),
    )
    for (const workers of [0, 1]) {
      const scanned = await scanArchive(path, {})
      assert.deepEqual(scanned.small.get('index.json'), index)
      // what the pass parsed, standing in for bytes that differ from a second read: the digest must be of these
      const parsed = new Map(scanned.small)
      const seen = Buffer.from('{"schemaVersion":2,"manifests":[] }')
      parsed.set('index.json', seen)
      let counted = 0
      await hashPendingEntries(
        [{path, fh: scanned.fh, identity: scanned.identity}],
        scanned.entries,
        undefined,
        parsed,
        {
          workers,
          onBytes: n => (counted += n),
        },
      )
      assert.equal(scanned.entries.get('index.json')!.digest, digestOf(seen))
      assert.equal(scanned.entries.get('oci-layout')!.digest, digestOf(layout))
      assert.equal(scanned.entries.get('airlock.json')!.digest, digestOf(airlock))
      assert.equal(scanned.entries.get(blobName(blob))!.digest, digestOf(blob))
      assert.equal(counted, layout.length + seen.length + airlock.length + blob.length)
      await scanned.fh.close()
    }
  })
})
