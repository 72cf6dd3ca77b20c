// Delta export (issue 17): the inventory of what the disconnected side holds decides which image LAYERS are left
// out; every manifest, config and signature artifact is carried as usual (verify needs them offline). airlock.json's
// `base` section records the inventory (sha256, signer) and each blob left out (digest, size, repository), so
// verify and push can check those blobs in the mirror before anything is trusted or written.
import {readFileSync} from 'node:fs'
import type {KeyObject} from 'node:crypto'
import type {Readable} from 'node:stream'
import type {ArchiveWriter} from '../archive/writer.ts'
import {BASE_SECTION, type BaseSection} from '../archive/base-section.ts'
import type {CopyTarget} from '../copy/copy.ts'
import {AirlockError} from '../errors.ts'
import {inventoryBlobs, inventorySha256, MAX_INVENTORY_BYTES, parseInventory} from '../inventory/format.ts'
import {verifyInventorySignature} from '../inventory/signature.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'

/** Layers only: configs and signature payloads are small and are read by verify offline, so they always travel. */
const LAYER_TYPE = /^application\/vnd\.(oci\.image\.layer\.|docker\.image\.rootfs\.)/

export interface DeltaBase {
  file: string
  sha256: string
  signer?: string
  blobs: Map<string, {size: number; repository: string}>
}

/** Reads and checks the inventory (and its signature when a key is expected), before any download. */
export function loadDeltaBase(file: string, expectedKey?: KeyObject): DeltaBase {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read inventory ${file}: ${(error as Error).message}`)
  }
  if (bytes.length > MAX_INVENTORY_BYTES)
    throw new AirlockError('TOO_LARGE', `inventory ${file} is larger than ${MAX_INVENTORY_BYTES} bytes`)
  // The signature first: an inventory from an unexpected key is refused before its content is looked at.
  const signer = expectedKey ? verifyInventorySignature(file, bytes, expectedKey) : undefined
  const inventory = parseInventory(bytes, file)
  return {
    file,
    sha256: inventorySha256(bytes),
    ...(signer ? {signer} : {}),
    blobs: inventoryBlobs(inventory),
  }
}

/**
 * The archive writer seen through the inventory: a layer the base holds (same digest and size) "exists", so the
 * graph copy skips it; every other blob goes to the writer. Records what was left out.
 */
export class DeltaDestination implements CopyTarget {
  private readonly writer: ArchiveWriter
  private readonly base: DeltaBase
  readonly leftOut = new Map<string, {size: number; repository: string}>()

  constructor(writer: ArchiveWriter, base: DeltaBase) {
    this.writer = writer
    this.base = base
  }

  async exists(descriptor: Descriptor): Promise<boolean> {
    const held = this.base.blobs.get(descriptor.digest)
    if (held && held.size === descriptor.size && LAYER_TYPE.test(descriptor.mediaType)) {
      this.leftOut.set(descriptor.digest, held)
      return true
    }
    return this.writer.exists(descriptor)
  }

  push(descriptor: Descriptor, content: Readable): Promise<void> {
    return this.writer.push(descriptor, content)
  }

  /** The `base` section: blobs left out and not carried after all (another path may have carried one). */
  section(): BaseSection {
    const blobs = [...this.leftOut]
      .filter(([digest]) => !this.writer.has(digest))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([digest, held]) => ({digest: digest as Digest, size: held.size, repository: held.repository}))
    return {
      inventory: {sha256: this.base.sha256, ...(this.base.signer ? {signer: this.base.signer} : {})},
      blobs,
    }
  }

  /** Writes the section (call in beforeCommit, after every image is copied). */
  record(writer: ArchiveWriter): void {
    writer.setSection(BASE_SECTION, this.section())
  }
}
