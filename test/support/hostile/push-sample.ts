// The part of the hostile corpus that runs through `airlock push`, and what push may do with each case. Shared by
// test/hostile-push.test.ts (which asserts) and scripts/security-table.ts (which writes the push table of
// docs/SECURITY.md), so the table shows what the tests check.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {StartedRegistry} from '../registry.ts'

/** The sample: every family, a few truncation points (mid-header, a layer's body, between entries, end marker). */
export const PUSH_SAMPLE = [
  'control-valid',
  'path-dotdot',
  'path-absolute',
  'path-blobs-dotdot',
  'path-pax-dotdot',
  'path-pax-nul',
  'path-gnu-longname',
  'path-global-pax',
  'symlink-blob',
  'hardlink-host',
  'hardlink-internal',
  'chardev-blob',
  'fifo-index',
  'directory-as-blob',
  'name-not-digest',
  'name-non-utf8',
  'name-very-long',
  'algo-sha512-descriptor',
  'tar-in-tar-wrapped',
  'dup-blob-different',
  'dup-index-json',
  'dup-airlock-json',
  'size-header-bigger',
  'size-header-huge',
  'pax-size-negative',
  'header-bad-checksum',
  'trailing-archive',
  'truncate-mid-header@5',
  'truncate-mid-body@4',
  'truncate-after-entry@10',
  'truncate-before-end-blocks',
  'gzip-archive',
  'gzip-bomb',
  'zstd-bomb',
  'manifest-over-4mib',
  'manifest-deep-json',
  'index-json-huge',
  'airlock-json-garbage',
  'index-missing-manifest',
  'manifest-missing-layer',
  'cycle-index-self',
  'cycle-manifest-subject-self',
  'dag-fanout-bomb',
  'flip-manifest-blob',
  'flip-config-blob',
  'flip-layer-first',
  'flip-layer-last',
  'flip-index-json',
  'blob-renamed',
  'descriptor-size-lie',
  'many-tiny-entries',
  'empty-file',
  'not-a-tar-random',
  // issue 10: push writes only what verify judged
  'dup-airlock-record',
  'dup-index-entry',
  'record-tag-mismatch',
  'filtered-index-extra-child',
  'signature-tag-unbound',
  'signature-layers-repeat',
  'index-repeats-images',
]

/**
 * Under --skip-verify nothing is hashed or judged up front, but push still builds its verdict through verify's
 * structural checks (airlock.json equal to index.json entry for entry, tags bound to references, signature
 * artifacts bound to their subjects, unreferenced entries, the bounds), and opens the archive through the strict header pass of src/archive/reader.ts (entry types, the entry-name
 * grammar, duplicates, sizes, truncation), so an archive with a traversal, absolute, non-digest or non-UTF-8 name
 * is refused as verify refuses it. What may still be pushed is an archive whose fault lies only in what verify's
 * later checks see: unreferenced blobs (many-tiny-entries), an airlock.json that disagrees with index.json, a
 * graph with a missing or cyclic part that push never reads, an honest graph (dag-fanout-bomb). What reaches the
 * registry is still only content that matches its digest, which is checked below for every case; a descriptor
 * whose size disagrees with what the mirror holds under its digest is refused even when the blob is skipped
 * (descriptor-size-lie). Everything else in the sample damages what push reads, and must be refused.
 */
export const SKIP_VERIFY_MAY_PUSH = new Set([
  'control-valid',
  'dag-fanout-bomb',
  'flip-index-json',
  'index-missing-manifest',
  'cycle-index-self',
  'cycle-manifest-subject-self',
  'algo-sha512-descriptor',
  'many-tiny-entries',
])

/**
 * With --key (the base signed), cases whose only fault is in the bytes of a blob push uploads. Push judges
 * everything else first (manifests, signatures, policy, trust) and hashes those blobs while they upload (issue 11,
 * docs/DECISIONS.md "push hashing overlapped with uploads"), so these are refused during the upload: no manifest and
 * no tag is written, the corrupt blob is never committed, and the blobs committed before it are each named (a
 * `left unreferenced in the mirror:` line). Every other case must leave the registry untouched.
 */
export const KEY_FOUND_ON_UPLOAD = new Set(['flip-config-blob', 'flip-layer-first', 'flip-layer-last'])

/** Blobs linked into repositories under `prefix/`, and their manifests and tags (read from the registry's disk). */
export function storedUnder(
  registry: StartedRegistry,
  prefix: string,
): {linked: string[]; manifests: string[]; tags: string[]} {
  const root = join(registry.dir, 'storage', 'docker', 'registry', 'v2', 'repositories')
  const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])
  const out = {linked: [] as string[], manifests: [] as string[], tags: [] as string[]}
  const walk = (repo: string): void => {
    const dir = join(root, repo)
    for (const hex of ls(join(dir, '_layers', 'sha256'))) out.linked.push(`${repo}@sha256:${hex}`)
    for (const hex of ls(join(dir, '_manifests', 'revisions', 'sha256'))) out.manifests.push(`${repo}@sha256:${hex}`)
    for (const tag of ls(join(dir, '_manifests', 'tags'))) out.tags.push(`${repo}:${tag}`)
    for (const child of ls(dir)) if (!child.startsWith('_')) walk(`${repo}/${child}`)
  }
  walk(prefix)
  out.linked.sort()
  return out
}

/**
 * Cases where `push --skip-verify` once hung: a blob failing its digest while the upload session was opening left
 * the PUT with an already-destroyed body (fixed in src/registry/uploads.ts and transport.ts). Kept, empty, so a
 * case can be marked again with a short bound while a regression is fixed.
 */
export const SKIP_VERIFY_HANGS = new Set<string>()

/**
 * With --key, cases whose refusal message is not checked. Push opens the archive with the same strict reader as
 * verify (src/archive/reader.ts), so a FIFO index.json or a wrapped archive is refused with verify's cause, not
 * the symptom "is not an OCI archive (no index.json)" the lenient OciArchiveStore gave. Kept, empty.
 */
export const KEY_MESSAGE_GAPS = new Set<string>()

/** GET url as JSON (plain HTTP to the test registry). */
export async function getJson(url: string, accept?: string): Promise<{status: number; body: any; headers: Headers}> {
  const res = await fetch(url, accept ? {headers: {accept}} : {})
  const text = await res.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return {status: res.status, body, headers: res.headers}
}

export async function catalog(registry: StartedRegistry): Promise<string[]> {
  const r = await getJson(`${registry.url}/v2/_catalog?n=1000`)
  assert.equal(r.status, 200, `catalog: ${JSON.stringify(r.body)}`)
  return r.body.repositories ?? []
}

/** Every blob in the registry's storage hashes to the digest it is stored under (read from disk, not over HTTP). */
export function misfiledBlobs(registry: StartedRegistry): string[] {
  const root = join(registry.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256')
  if (!existsSync(root)) return []
  const bad: string[] = []
  for (const prefix of readdirSync(root))
    for (const hex of readdirSync(join(root, prefix))) {
      const data = join(root, prefix, hex, 'data')
      if (existsSync(data) && createHash('sha256').update(readFileSync(data)).digest('hex') !== hex) bad.push(hex)
    }
  return bad
}
