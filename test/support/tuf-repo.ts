// A TUF repository generated with @tufjs/models for tests, laid out like the Sigstore public-good one:
// consistent snapshots (`N.root.json`, `N.snapshot.json`, `N.targets.json`, `N.<role>.json`, plain `timestamp.json`)
// and hash-prefixed targets (`targets/<sha256>.<name>`). ed25519 keys from node:crypto; root 2-of-3 rotated on every
// new root version, targets 2-of-2, snapshot and timestamp 1-of-1 (online keys), one delegated role `team`
// (paths `team/*`, 1-of-1).
import {createHash, generateKeyPairSync, type KeyObject, randomBytes, sign} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {Metadata, type MetadataKind, Signature} from '@tufjs/models'

const DAY = 86_400_000

export interface TestKey {
  keyid: string
  /** TUF key JSON ({keytype, scheme, keyval}) */
  json: {keytype: string; scheme: string; keyval: {public: string}}
  privateKey: KeyObject
}

export function generateKey(): TestKey {
  const {publicKey, privateKey} = generateKeyPairSync('ed25519')
  const raw = Buffer.from(publicKey.export({format: 'jwk'}).x as string, 'base64url').toString('hex')
  const json = {keytype: 'ed25519', scheme: 'ed25519', keyval: {public: raw}}
  // keyid = sha256 of the canonical JSON of the key (these keys are already in canonical key order)
  const keyid = createHash('sha256').update(JSON.stringify(json)).digest('hex')
  return {keyid, json, privateKey}
}

type Kind = 'root' | 'timestamp' | 'snapshot' | 'targets'
type Json = Record<string, unknown>

/** Signs a `signed` object as TUF metadata of the given kind with the given keys; returns the file bytes. */
export function signMetadata(kind: Kind, signed: Json, keys: TestKey[]): Buffer {
  const md = Metadata.fromJSON(kind as MetadataKind.Root, {signed, signatures: []} as never)
  for (const key of keys)
    md.sign(data => new Signature({keyID: key.keyid, sig: sign(null, data, key.privateKey).toString('hex')}))
  return Buffer.from(JSON.stringify(md.toJSON(), null, 1))
}

/** A trusted_root.json with the right shape (random key material: it is never used to verify signatures). */
export function fakeTrustedRoot(label = 'test'): Buffer {
  const b64 = (n: number) => randomBytes(n).toString('base64')
  return Buffer.from(
    JSON.stringify(
      {
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [
          {
            baseUrl: `https://rekor.${label}.example`,
            hashAlgorithm: 'SHA2_256',
            publicKey: {
              rawBytes: b64(91),
              keyDetails: 'PKIX_ECDSA_P256_SHA_256',
              validFor: {start: '2021-01-12T11:53:27.000Z'},
            },
            logId: {keyId: b64(32)},
          },
        ],
        certificateAuthorities: [
          {
            subject: {organization: label, commonName: label},
            uri: `https://fulcio.${label}.example`,
            certChain: {certificates: [{rawBytes: b64(400)}]},
            validFor: {start: '2022-04-13T20:06:15.000Z'},
          },
        ],
        ctlogs: [],
        timestampAuthorities: [],
      },
      null,
      2,
    ) + '\n',
  )
}

export interface TufRepoOptions {
  /** directory to write into (default a new temp dir) */
  dir?: string
  /** number of root versions to publish initially (default 3: v1 pinned, v2 and v3 rotate keys) */
  rootVersions?: number
  /** reference time for expiries (default now) */
  now?: Date
  /** how long the timestamp is valid (default 1 day) */
  timestampTtlMs?: number
  /** the trusted_root.json target (default a fakeTrustedRoot()) */
  trustedRoot?: Buffer
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')

export class TestTufRepo {
  readonly dir: string
  now: Date
  timestampTtlMs: number
  /** root.json bytes by version (index 0 = v1) */
  readonly roots: Buffer[] = []
  rootKeys: TestKey[]
  readonly rootThreshold = 2
  readonly timestampKey = generateKey()
  readonly snapshotKey = generateKey()
  readonly targetsKeys = [generateKey(), generateKey()]
  readonly delegateKey = generateKey()
  /** top-level targets and the `team` role's targets (paths team/*) */
  readonly targetFiles = new Map<string, Buffer>()
  readonly teamFiles = new Map<string, Buffer>()
  versions = {timestamp: 0, snapshot: 0, targets: 0, team: 0}

  constructor(options: TufRepoOptions = {}) {
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'airlock-tuf-repo-'))
    mkdirSync(join(this.dir, 'targets'), {recursive: true})
    this.now = options.now ?? new Date()
    this.timestampTtlMs = options.timestampTtlMs ?? DAY
    this.rootKeys = [generateKey(), generateKey(), generateKey()]
    this.targetFiles.set('trusted_root.json', options.trustedRoot ?? fakeTrustedRoot())
    this.targetFiles.set(
      'signing_config.v0.2.json',
      Buffer.from('{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json"}\n'),
    )
    this.targetFiles.set('other.txt', Buffer.from('not exported by default\n'))
    this.teamFiles.set('team/keys.json', Buffer.from('{"keys":[]}\n'))
    this.writeRoot(this.rootSigned(1, this.rootKeys), this.rootKeys)
    for (let v = 2; v <= (options.rootVersions ?? 3); v++) this.rotateRoot()
    this.publish()
  }

  get rootVersion(): number {
    return this.roots.length
  }

  /** The pinned root clients start from (v1 unless told). */
  pinnedRoot(version = 1): Buffer {
    return this.roots[version - 1] as Buffer
  }

  rootSigned(version: number, rootKeys: TestKey[], overrides: {expires?: string; timestampKey?: TestKey} = {}): Json {
    const all = [...rootKeys, overrides.timestampKey ?? this.timestampKey, this.snapshotKey, ...this.targetsKeys]
    const keys: Record<string, unknown> = {}
    for (const k of all) keys[k.keyid] = k.json
    return {
      _type: 'root',
      spec_version: '1.0',
      version,
      expires: overrides.expires ?? iso(this.now.getTime() + 365 * DAY),
      consistent_snapshot: true,
      keys,
      roles: {
        root: {keyids: rootKeys.map(k => k.keyid), threshold: this.rootThreshold},
        timestamp: {keyids: [(overrides.timestampKey ?? this.timestampKey).keyid], threshold: 1},
        snapshot: {keyids: [this.snapshotKey.keyid], threshold: 1},
        targets: {keyids: this.targetsKeys.map(k => k.keyid), threshold: 2},
      },
    }
  }

  private writeRoot(signed: Json, signers: TestKey[]): Buffer {
    const bytes = signMetadata('root', signed, signers)
    this.roots.push(bytes)
    writeFileSync(join(this.dir, `${signed.version}.root.json`), bytes)
    writeFileSync(join(this.dir, 'root.json'), bytes)
    return bytes
  }

  /** Publishes root v(N+1): one root key replaced by a new one, signed by the old and the new keys. */
  rotateRoot(): Buffer {
    const old = this.rootKeys
    const next = [...old.slice(1), generateKey()]
    this.rootKeys = next
    const signers = [...new Map([...old, ...next].map(k => [k.keyid, k])).values()]
    return this.writeRoot(this.rootSigned(this.rootVersion + 1, next), signers)
  }

  /** Publishes a new targets/team/snapshot/timestamp set (every version bumped), expiries relative to `now`. */
  publish(options: {timestampExpires?: Date} = {}): void {
    const t = this.now.getTime()
    this.versions = {
      timestamp: this.versions.timestamp + 1,
      snapshot: this.versions.snapshot + 1,
      targets: this.versions.targets + 1,
      team: this.versions.team + 1,
    }
    const teamBytes = signMetadata(
      'targets',
      {
        _type: 'targets',
        spec_version: '1.0',
        version: this.versions.team,
        expires: iso(t + 90 * DAY),
        targets: this.targetEntries(this.teamFiles),
      },
      [this.delegateKey],
    )
    const targetsBytes = signMetadata(
      'targets',
      {
        _type: 'targets',
        spec_version: '1.0',
        version: this.versions.targets,
        expires: iso(t + 90 * DAY),
        targets: this.targetEntries(this.targetFiles),
        delegations: {
          keys: {[this.delegateKey.keyid]: this.delegateKey.json},
          roles: [{name: 'team', keyids: [this.delegateKey.keyid], threshold: 1, terminating: true, paths: ['team/*']}],
        },
      },
      this.targetsKeys,
    )
    const snapshotBytes = signMetadata(
      'snapshot',
      {
        _type: 'snapshot',
        spec_version: '1.0',
        version: this.versions.snapshot,
        expires: iso(t + 7 * DAY),
        meta: {'targets.json': {version: this.versions.targets}, 'team.json': {version: this.versions.team}},
      },
      [this.snapshotKey],
    )
    const timestampBytes = this.signTimestamp(
      this.versions.timestamp,
      snapshotBytes,
      this.versions.snapshot,
      options.timestampExpires,
    )
    writeFileSync(join(this.dir, `${this.versions.team}.team.json`), teamBytes)
    writeFileSync(join(this.dir, `${this.versions.targets}.targets.json`), targetsBytes)
    writeFileSync(join(this.dir, `${this.versions.snapshot}.snapshot.json`), snapshotBytes)
    writeFileSync(join(this.dir, 'timestamp.json'), timestampBytes)
    for (const [path, bytes] of [...this.targetFiles, ...this.teamFiles]) {
      const file = join(this.dir, 'targets', dirname(path), `${sha256(bytes)}.${path.split('/').pop()}`)
      mkdirSync(dirname(file), {recursive: true})
      writeFileSync(file, bytes)
    }
  }

  /** A timestamp (signed with the real timestamp key) pointing at the given snapshot bytes and version. */
  signTimestamp(version: number, snapshotBytes: Buffer, snapshotVersion: number, expires?: Date): Buffer {
    return signMetadata(
      'timestamp',
      {
        _type: 'timestamp',
        spec_version: '1.0',
        version,
        expires: iso(expires?.getTime() ?? this.now.getTime() + this.timestampTtlMs),
        meta: {
          'snapshot.json': {
            version: snapshotVersion,
            length: snapshotBytes.length,
            hashes: {sha256: sha256(snapshotBytes)},
          },
        },
      },
      [this.timestampKey],
    )
  }

  private targetEntries(files: Map<string, Buffer>): Json {
    const out: Json = {}
    for (const [path, bytes] of files)
      out[path] = {
        length: bytes.length,
        hashes: {sha256: sha256(bytes), sha512: createHash('sha512').update(bytes).digest('hex')},
      }
    return out
  }

  /** The files an archive carries for the current publication (plain names as in the archive, read from disk). */
  archiveFiles(): Map<string, Buffer> {
    const files = new Map<string, Buffer>()
    for (let v = 2; v <= this.rootVersion; v++) files.set(`metadata/${v}.root.json`, this.roots[v - 1] as Buffer)
    files.set('metadata/timestamp.json', readFileSync(join(this.dir, 'timestamp.json')))
    files.set('metadata/snapshot.json', readFileSync(join(this.dir, `${this.versions.snapshot}.snapshot.json`)))
    files.set('metadata/targets.json', readFileSync(join(this.dir, `${this.versions.targets}.targets.json`)))
    files.set('metadata/team.json', readFileSync(join(this.dir, `${this.versions.team}.team.json`)))
    files.set('targets/trusted_root.json', this.targetFiles.get('trusted_root.json') as Buffer)
    return files
  }

  remove(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
