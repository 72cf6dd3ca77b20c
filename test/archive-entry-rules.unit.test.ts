// src/archive/entry-rules.ts in process (issue 13 item 5): the header pass's rule for each entry, one case per
// branch, with the code and message of each refusal. The hostile corpus reaches these through verify, where the
// error code is not asserted and the allowed directory entries are never written.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {entryProblem, SMALL_FILES} from '../src/archive/entry-rules.ts'
import type {TarEntry} from '../src/archive/tar.ts'

const HEX = 'ab'.repeat(32)
const entry = (name: string, type: string, size = 0, linkpath?: string): TarEntry => ({
  name,
  type,
  size,
  headerOffset: 0,
  dataOffset: 512,
  ...(linkpath !== undefined ? {linkpath} : {}),
})
const problem = (e: TarEntry) => {
  const error = entryProblem(e)
  return error && {code: error.code, message: error.message}
}

describe('entryProblem', () => {
  it('allows the directories an archive may have', () => {
    for (const name of ['blobs/', 'blobs', 'blobs/sha256/', 'sigstore/', 'sigstore', 'sigstore/a@b/c_1.d/', 'airlock/'])
      assert.equal(problem(entry(name, 'Directory')), undefined, name)
  })

  it('refuses other directories, and directories with content', () => {
    for (const name of ['other/', 'sigstore/a b/', 'sigstore/ok/a b/', 'xsigstore/', 'airlock/x/', 'blobs/sha512/'])
      assert.deepEqual(problem(entry(name, 'Directory')), {
        code: 'ARCHIVE_INVALID',
        message: `entry ${JSON.stringify(name)}: unexpected directory`,
      })
    assert.deepEqual(problem(entry('sigstore/', 'Directory', 1)), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "sigstore/": directory entry with content',
    })
  })

  it('layout files: up to their limit, old-style file entries too', () => {
    for (const [name, limit] of Object.entries(SMALL_FILES)) {
      assert.equal(problem(entry(name, 'File', limit)), undefined, `${name} at its limit`)
      assert.equal(problem(entry(name, 'OldFile', 10)), undefined, `${name} as OldFile`)
      assert.deepEqual(problem(entry(name, 'File', limit + 1)), {
        code: 'TOO_LARGE',
        message: `entry ${JSON.stringify(name)} is ${limit + 1} bytes, over the ${limit} byte limit`,
      })
    }
    assert.equal(SMALL_FILES['oci-layout'], 1024)
  })

  it('blobs: sha256 names only, another algorithm is unsupported', () => {
    assert.equal(problem(entry(`blobs/sha256/${HEX}`, 'File', 5)), undefined)
    assert.deepEqual(problem(entry(`blobs/sha512/${HEX}`, 'File')), {
      code: 'UNSUPPORTED',
      message: `entry "blobs/sha512/${HEX}": unsupported digest algorithm "sha512"; only sha256 is accepted`,
    })
    for (const name of [`blobs/sha256/${HEX.toUpperCase()}`, 'blobs/sha256/abc', 'blobs/loose-file'])
      assert.deepEqual(problem(entry(name, 'File')), {
        code: 'ARCHIVE_INVALID',
        message: `entry ${JSON.stringify(name)}: not a valid blob name (blobs/sha256/<64 lowercase hex>)`,
      })
  })

  it('extra files under sigstore/ and airlock/ only', () => {
    assert.equal(problem(entry('sigstore/trusted_root.json', 'File', 10)), undefined)
    assert.equal(problem(entry('airlock/airlock-1.2.3-linux-amd64', 'File', 10)), undefined)
    assert.deepEqual(problem(entry('airlock/other', 'File')), {
      code: 'ARCHIVE_INVALID',
      message:
        'entry "airlock/other": only airlock executables (airlock/airlock-<version>-linux-<amd64|arm64>[.sigstore.json]) may be under airlock/',
    })
    assert.deepEqual(problem(entry('notes/sigstore/', 'File')), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "notes/sigstore/": unexpected entry (not part of an airlock archive)',
    })
  })

  it('links and other types are refused by kind', () => {
    assert.deepEqual(problem(entry('blobs/x', 'Link', 0, 'index.json')), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "blobs/x": hard links are not allowed (target "index.json")',
    })
    assert.deepEqual(problem(entry('blobs/x', 'SymbolicLink', 0, '/etc/passwd')), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "blobs/x": symbolic links are not allowed (target "/etc/passwd")',
    })
    assert.deepEqual(problem(entry('blobs/x', 'SymbolicLink')), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "blobs/x": symbolic links are not allowed (target "")',
    })
    assert.deepEqual(problem(entry('dev', 'CharacterDevice')), {
      code: 'ARCHIVE_INVALID',
      message: 'entry "dev": CharacterDevice entries are not allowed; only regular files and directories',
    })
  })

  it('names: not UTF-8, control characters, absolute, dot segments', () => {
    const cases: Array<[string, string]> = [
      ['a\uFFFDb', 'name is not valid UTF-8'],
      ['a\u0001b', 'name has control characters or backslashes'],
      ['a\\b', 'name has control characters or backslashes'],
      ['/index.json', 'absolute paths are not allowed'],
      ['blobs/../index.json', 'names with "." or ".." segments are not allowed'],
      ['./index.json', 'names with "." or ".." segments are not allowed'],
    ]
    for (const [name, reason] of cases)
      assert.deepEqual(problem(entry(name, 'File')), {
        code: 'ARCHIVE_INVALID',
        message: `entry ${JSON.stringify(name)}: ${reason}`,
      })
  })
})
