// A Rekor v1 style transparency log: canonicalized entry bodies in an RFC 6962 Merkle tree, Signed Entry
// Timestamps, signed checkpoints (transparency-dev note format) and inclusion proofs, with Rekor's JSON shapes.
import crypto from 'node:crypto'
import {json} from '@sigstore/core'
import {MerkleTree} from './merkle.ts'
import {generateKeyPair, keyId, sha256, sign, type KeyPair} from './keys.ts'

export interface LogEntry {
  logIndex: number
  integratedTime: number
  /** Canonicalized entry body (the Merkle leaf). */
  body: Buffer
  kind: string
  apiVersion: string
  /** hex leaf hash: Rekor's entry UUID. */
  uuid: string
  /** Rekor's entry ID: 16 hex digits of tree ID + UUID. */
  entryId: string
  /** Signed Entry Timestamp, DER ECDSA. */
  set: Buffer
}

/** Rekor API `verification.inclusionProof`. */
export interface RekorInclusionProof {
  checkpoint: string
  hashes: string[]
  logIndex: number
  rootHash: string
  treeSize: number
}

/** Rekor API LogEntry value (the object under the entry ID key). */
export interface RekorLogEntry {
  body: string
  integratedTime: number
  logID: string
  logIndex: number
  verification: {inclusionProof?: RekorInclusionProof; signedEntryTimestamp: string}
}

/** protobuf-specs JSON `TransparencyLogEntry` (dev.sigstore.rekor.v1), as in a bundle. */
export interface BundleTLogEntry {
  logIndex: string
  logId: {keyId: string}
  kindVersion: {kind: string; version: string}
  integratedTime: string
  inclusionPromise?: {signedEntryTimestamp: string}
  inclusionProof?: {
    logIndex: string
    rootHash: string
    treeSize: string
    hashes: string[]
    checkpoint: {envelope: string}
  }
  canonicalizedBody: string
}

export interface TransparencyLogOptions {
  key?: KeyPair
  /** Checkpoint signer name; must be a substring of the log's baseUrl in the trusted root. */
  hostname?: string
  treeId?: string
  validFrom?: Date
}

export class TransparencyLog {
  readonly key: KeyPair
  readonly logId: Buffer
  readonly tree = new MerkleTree()
  readonly entries: LogEntry[] = []
  readonly treeId: string
  readonly validFrom: Date
  hostname: string

  constructor(opts: TransparencyLogOptions = {}) {
    this.key = opts.key ?? generateKeyPair()
    this.logId = keyId(this.key)
    this.hostname = opts.hostname ?? 'rekor.airlock.test'
    this.treeId = opts.treeId ?? String(BigInt('0x' + crypto.randomBytes(7).toString('hex')) + 1000000000000000000n)
    this.validFrom = opts.validFrom ?? new Date(Date.now() - 86_400_000)
  }

  /** Checkpoint origin line, as Rekor v1 writes it: "<hostname> - <treeID>". */
  get origin(): string {
    return `${this.hostname} - ${this.treeId}`
  }

  get size(): number {
    return this.tree.size
  }

  /**
   * Appends an entry. `body` is the entry object (it is canonicalized as Rekor does) or already canonical bytes.
   * `integratedTime` (unix seconds) defaults to now.
   */
  append(body: object | Buffer, integratedTime = Math.floor(Date.now() / 1000)): LogEntry {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(json.canonicalize(body), 'utf8')
    const parsed = JSON.parse(bytes.toString('utf8')) as {kind: string; apiVersion: string}
    const logIndex = this.tree.append(bytes)
    const uuid = this.tree.leaves[logIndex]!.toString('hex')
    const entry: LogEntry = {
      logIndex,
      integratedTime,
      body: bytes,
      kind: parsed.kind,
      apiVersion: parsed.apiVersion,
      uuid,
      entryId: BigInt(this.treeId).toString(16).padStart(16, '0') + uuid,
      set: Buffer.alloc(0),
    }
    entry.set = this.signEntryTimestamp(entry)
    this.entries.push(entry)
    return entry
  }

  /** SET: ECDSA over the canonical JSON {body, integratedTime, logID, logIndex}. */
  signEntryTimestamp(e: Pick<LogEntry, 'body' | 'integratedTime' | 'logIndex'>): Buffer {
    const payload = {
      body: e.body.toString('base64'),
      integratedTime: e.integratedTime,
      logID: this.logId.toString('hex'),
      logIndex: e.logIndex,
    }
    return sign(this.key, json.canonicalize(payload))
  }

  /** Signed checkpoint (signed note) for the tree of `size` leaves. */
  checkpoint(size = this.size, timestamp = new Date()): string {
    const note =
      `${this.origin}\n${size}\n${this.tree.root(size).toString('base64')}\n` +
      `Timestamp: ${BigInt(timestamp.getTime()) * 1000000n}\n`
    const sig = Buffer.concat([this.logId.subarray(0, 4), sign(this.key, note)])
    return `${note}\n\u2014 ${this.hostname} ${sig.toString('base64')}\n`
  }

  find(query: {uuid?: string; logIndex?: number}): LogEntry | undefined {
    if (query.logIndex !== undefined) return this.entries[query.logIndex]
    if (query.uuid !== undefined) {
      const u = query.uuid.toLowerCase()
      const id = u.length === 80 ? u.slice(16) : u
      if (u.length === 80 && u.slice(0, 16) !== BigInt(this.treeId).toString(16).padStart(16, '0')) return undefined
      return this.entries.find(e => e.uuid === id)
    }
    return undefined
  }

  inclusionProof(entry: LogEntry, size = this.size): RekorInclusionProof {
    return {
      checkpoint: this.checkpoint(size),
      hashes: this.tree.inclusionProof(entry.logIndex, size).map(h => h.toString('hex')),
      logIndex: entry.logIndex,
      rootHash: this.tree.root(size).toString('hex'),
      treeSize: size,
    }
  }

  /** The Rekor API representation of an entry (GET /api/v1/log/entries/{uuid} value). */
  rekorEntry(entry: LogEntry, withProof = true): RekorLogEntry {
    return {
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logID: this.logId.toString('hex'),
      logIndex: entry.logIndex,
      verification: {
        ...(withProof ? {inclusionProof: this.inclusionProof(entry)} : {}),
        signedEntryTimestamp: entry.set.toString('base64'),
      },
    }
  }

  /** The bundle representation (protobuf-specs JSON TransparencyLogEntry). */
  bundleEntry(entry: LogEntry, opts: {proof?: boolean; promise?: boolean} = {}): BundleTLogEntry {
    const proof = opts.proof ?? true
    const promise = opts.promise ?? true
    const p = proof ? this.inclusionProof(entry) : undefined
    return {
      logIndex: String(entry.logIndex),
      logId: {keyId: this.logId.toString('base64')},
      kindVersion: {kind: entry.kind, version: entry.apiVersion},
      integratedTime: String(entry.integratedTime),
      ...(promise ? {inclusionPromise: {signedEntryTimestamp: entry.set.toString('base64')}} : {}),
      ...(p
        ? {
            inclusionProof: {
              logIndex: String(p.logIndex),
              rootHash: Buffer.from(p.rootHash, 'hex').toString('base64'),
              treeSize: String(p.treeSize),
              hashes: p.hashes.map(h => Buffer.from(h, 'hex').toString('base64')),
              checkpoint: {envelope: p.checkpoint},
            },
          }
        : {}),
      canonicalizedBody: entry.body.toString('base64'),
    }
  }
}

// ---- entry bodies, exactly as Rekor canonicalizes them --------------------------------------------------------

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64')

/** hashedrekord/0.0.1. `publicKeyPem` is the PEM certificate (keyless) or PEM public key. */
export function hashedrekordBody(digest: Buffer, signature: Buffer, publicKeyPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: {hash: {algorithm: 'sha256', value: digest.toString('hex')}},
      signature: {content: signature.toString('base64'), publicKey: {content: b64(publicKeyPem)}},
    },
  }
}

/** dsse/0.0.1. `envelopeJson` is the envelope exactly as submitted (Rekor hashes those bytes). */
export function dsseBody(envelopeJson: string, verifierPems: string[]): object {
  const env = JSON.parse(envelopeJson) as {payload: string; signatures: {sig: string}[]}
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: {algorithm: 'sha256', value: sha256(envelopeJson).toString('hex')},
      payloadHash: {algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')).toString('hex')},
      signatures: env.signatures.map((s, i) => ({
        signature: s.sig,
        verifier: b64(verifierPems[i] ?? verifierPems[0]!),
      })),
    },
  }
}

/** intoto/0.0.2 (what older cosign/sigstore-js clients logged): payload dropped, signatures double base64. */
export function intotoBody(envelopeJson: string, publicKeyPem: string): object {
  const env = JSON.parse(envelopeJson) as {payload: string; payloadType: string; signatures: {sig: string}[]}
  const stored = {
    payloadType: env.payloadType,
    signatures: env.signatures.map(s => ({publicKey: b64(publicKeyPem), sig: b64(s.sig)})),
  }
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: stored,
        hash: {algorithm: 'sha256', value: sha256(json.canonicalize(stored)).toString('hex')},
        payloadHash: {algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')).toString('hex')},
      },
    },
  }
}
