// The archive written as a volume set: NAME.vol001.tar ... NAME.volNNN.tar, each a complete tar no larger than the
// volume size, plus NAME.volumes.json (docs/ARCHIVE-FORMAT.md, "Volume sets"). Entries go into the current volume
// while they fit; an entry that does not fit but would fit in an empty volume starts the next one; only an entry
// larger than a whole volume is split, into parts/<name>.NNN entries that fill each volume to its end. Every
// volume starts with its label (the set's random id and its number), so volumes of two exports cannot be mixed.
//
// Entries are still written in parallel with positional writes (TarWriter); each volume's sha256 (and a split
// part's) is computed as the bytes are written, on a hash worker thread that reads the written ranges back from the
// page cache (ordered-hash.ts, hash-pool.ts): no second pass at the end, no hashing on the main thread. A volume is finished (end marker,
// fsync) as soon as no entry of it is still being written and a later volume has been started.
import {createHash, randomBytes} from 'node:crypto'
import type {FileHandle} from 'node:fs/promises'
import {open, rm, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import {commitFile, exists, fsyncDir, partialName, removeOnSignal, removeQuiet, renameInto} from '../util/files.ts'
import type {HashPool, StreamHash} from './hash-pool.ts'
import {OrderedHash} from './ordered-hash.ts'
import type {ArchiveOutput, OutputRegion, WrittenRange} from './output.ts'
import {BufferPool, padded, TarWriter, type TarRegion} from './tar.ts'
import {
  labelBytes,
  MAX_VOLUMES,
  manifestFile,
  partName,
  setBase,
  type SplitEntry,
  VOLUME_LABEL,
  VOLUMES_FORMAT,
  volumeFile,
  type VolumeRecord,
  type VolumesJson,
} from './volumes.ts'

/** The end-of-archive marker every volume closes with. */
const END_BYTES = 1024

interface Volume {
  index: number
  file: string
  temp: string
  fh: FileHandle
  tar: TarWriter
  /** The volume's sha256, fed by its TarWriter as bytes are written (hashed on a worker). */
  hash: OrderedHash
  /** Entries reserved in this volume whose header is not written yet. */
  pending: number
  /** Set once the volume is finished: its size and sha256. */
  done?: Promise<{size: number; sha256: string}>
  unregister: () => void
}

interface Piece {
  volume: Volume
  region: TarRegion
  sha256?: string
}

interface VolumeRegion extends OutputRegion {
  pieces: Piece[]
}

export interface VolumeSetSummary {
  /** NAME.volumes.json. */
  manifest: string
  /** sha256 (hex) of NAME.volumes.json, to be noted down apart from the volumes. */
  manifestSha256: string
  setId: string
  count: number
  volumeSize: number
  totalBytes: number
  volumes: Array<{file: string; size: number; sha256: string}>
  /** Entries split across volumes. */
  split: number
}

export class VolumeOutput implements ArchiveOutput {
  private readonly base: string
  private readonly capacity: number
  private readonly setId = randomBytes(16).toString('hex')
  private readonly volumes: Volume[] = []
  private readonly split: SplitEntry[] = []
  /** One set of write buffers for every volume. */
  private readonly pool = new BufferPool()
  private failure: unknown
  private result: VolumeSetSummary | undefined

  /** The hash workers (owned by the archive writer). */
  private readonly hashes: HashPool

  private constructor(base: string, capacity: number, hashes: HashPool) {
    this.base = base
    this.capacity = capacity
    this.hashes = hashes
  }

  static async create(
    path: string,
    volumeSize: number,
    options: {force: boolean; hashes: HashPool},
  ): Promise<VolumeOutput> {
    const base = setBase(path)
    if (!options.force)
      for (const target of [manifestFile(base), volumeFile(base, 1)])
        if (await exists(target))
          throw new AirlockError('IO_ERROR', `${target} already exists`, {
            hint: 'choose another output path or pass --force to overwrite the set',
          })
    const output = new VolumeOutput(base, volumeSize, options.hashes)
    await output.startVolume()
    return output
  }

  get bytesWritten(): number {
    return this.volumes.reduce((n, v) => n + v.tar.bytesWritten, 0)
  }

  private current(): Volume {
    return this.volumes[this.volumes.length - 1]!
  }

  private async startVolume(): Promise<Volume> {
    const index = this.volumes.length + 1
    if (index > MAX_VOLUMES)
      throw new AirlockError('USAGE', `the archive needs more than ${MAX_VOLUMES} volumes`, {
        hint: 'choose a larger --volume-size',
      })
    const file = volumeFile(this.base, index)
    const temp = partialName(file)
    const unregister = removeOnSignal(temp)
    let fh: FileHandle
    try {
      fh = await open(temp, 'wx', 0o644)
    } catch (error) {
      unregister()
      throw toAirlockError(error, 'IO_ERROR')
    }
    const hash = new OrderedHash(this.hashes.stream(), temp)
    const volume: Volume = {
      index,
      file,
      temp,
      fh,
      tar: new TarWriter(fh, {pool: this.pool, hash}),
      hash,
      pending: 0,
      unregister,
    }
    const previous = this.volumes[this.volumes.length - 1]
    this.volumes.push(volume)
    await volume.tar.addBuffer(VOLUME_LABEL, labelBytes(this.setId, index))
    if (previous) this.maybeFinish(previous)
    return volume
  }

  /** Bytes an entry takes in a volume (header(s), body, padding). */
  private static cost(name: string, size: number): number {
    return TarWriter.entryHeader(name, size).length + padded(size)
  }

  private fits(volume: Volume, name: string, size: number): boolean {
    return volume.tar.bytesWritten + VolumeOutput.cost(name, size) + END_BYTES <= this.capacity
  }

  /** Serializes reservations: deciding where an entry goes may start a volume, and two must not both do so. */
  private lock: Promise<unknown> = Promise.resolve()

  reserve(name: string, size: number): Promise<OutputRegion> {
    const next = this.lock.then(() => this.place(name, size))
    this.lock = next.catch(() => undefined)
    // A failed placement may leave parts reserved that are never filled: nothing after them could be hashed.
    next.catch(error => this.giveUp(error))
    return next
  }

  /**
   * A region that will never be filled leaves a hole no volume hash can pass: every entry waiting for its hash is
   * released with the error (instead of waiting forever), and the set can only be aborted.
   */
  private giveUp(error: unknown): void {
    this.failure ??= error
    for (const v of this.volumes) v.hash.fail(error)
  }

  private async place(name: string, size: number): Promise<VolumeRegion> {
    let volume = this.current()
    const whole = async (v: Volume): Promise<VolumeRegion> => {
      v.pending++
      return {name, size, pieces: [{volume: v, region: v.tar.reserve(name, size)}]}
    }
    if (this.fits(volume, name, size)) return whole(volume)
    const empty = TarWriter.entryHeader(VOLUME_LABEL, 0).length + padded(labelBytes(this.setId, 1).length)
    if (empty + VolumeOutput.cost(name, size) + END_BYTES <= this.capacity) return whole(await this.startVolume())
    // Larger than a whole volume: parts fill the room left in this volume, then whole volumes.
    const pieces: Piece[] = []
    let left = size
    while (left > 0) {
      const part = partName(name, pieces.length + 1)
      const room = this.capacity - volume.tar.bytesWritten - END_BYTES
      const header = TarWriter.entryHeader(part, Math.min(left, Math.max(room, 0))).length
      const body = Math.floor((room - header) / 512) * 512
      if (body <= 0) {
        volume = await this.startVolume()
        continue
      }
      const n = Math.min(left, body)
      volume.pending++
      pieces.push({volume, region: volume.tar.reserve(part, n)})
      left -= n
      if (left > 0) volume = await this.startVolume()
    }
    return {name, size, pieces}
  }

  async fill(
    region: OutputRegion,
    body: AsyncIterable<Buffer>,
    onBytes?: (n: number) => void,
    written?: WrittenRange,
    running?: StreamHash,
  ): Promise<void> {
    try {
      await this.fillPieces(region as VolumeRegion, body, onBytes, written, running)
    } catch (error) {
      this.giveUp(error)
      throw error
    }
  }

  private async fillPieces(
    region: VolumeRegion,
    body: AsyncIterable<Buffer>,
    onBytes?: (n: number) => void,
    written?: WrittenRange,
    running?: StreamHash,
  ) {
    const {pieces} = region
    const into = (v: Volume) => written && ((position: number, length: number) => written(v.temp, position, length))
    if (pieces.length === 1) {
      const {volume, region: r} = pieces[0]!
      return volume.tar.fill(r, body, onBytes, into(volume))
    }
    // A split entry: the one body stream is cut at the part boundaries, each part hashed as written (its sha256
    // goes to volumes.json, so one volume can be checked alone). The first part is the entry's first bytes: when
    // the entry has a running hash (fed the same ranges), the part's digest is that hash's state at the boundary,
    // so those bytes are read back and hashed once, not twice. The stream is read to its end, where the verifying
    // stream upstream reports a wrong size. Part digests are awaited at the end: no part waits for the previous
    // one's hash.
    const source = body[Symbol.asyncIterator]()
    let carry: Buffer | undefined
    const digests: Array<Promise<string>> = []
    try {
      for (const [i, piece] of pieces.entries()) {
        const own = i === 0 && running ? undefined : this.hashes.stream()
        const part = async function* (): AsyncGenerator<Buffer> {
          let left = piece.region.size
          while (left > 0) {
            let chunk = carry
            carry = undefined
            if (!chunk) {
              const next = await source.next()
              if (next.done) return
              chunk = next.value
            }
            if (chunk.length > left) {
              carry = chunk.subarray(left)
              chunk = chunk.subarray(0, left)
            }
            left -= chunk.length
            yield chunk
          }
        }
        const file = piece.volume.temp
        own?.follow(file, piece.region.dataOffset)
        try {
          await piece.volume.tar.fill(piece.region, part(), onBytes, (position, length) => {
            // The blob's range first: its read back feeds the part's hash (and the volume's) on the worker.
            const wait = written?.(file, position, length)
            own?.range(file, position, length)
            return wait
          })
        } catch (error) {
          own?.discard()
          throw error
        }
        const digest = own ? own.digest() : running!.checkpoint()
        // Observed now, awaited below: a failure meanwhile is not an unhandled rejection.
        digest.catch(() => undefined)
        digests.push(digest)
      }
      const rest = carry ?? (await source.next()).value
      if (rest && rest.length > 0)
        throw new AirlockError('SIZE_MISMATCH', `${region.name}: more than the expected ${region.size} bytes`)
    } finally {
      await Promise.allSettled(digests)
    }
    for (const [i, digest] of digests.entries()) pieces[i]!.sha256 = (await digest).slice('sha256:'.length)
  }

  async writeHeader(region: OutputRegion): Promise<void> {
    const {pieces} = region as VolumeRegion
    for (const piece of pieces) await piece.volume.tar.writeHeader(piece.region)
    if (pieces.length > 1)
      this.split.push({
        entry: region.name,
        size: region.size,
        parts: pieces.map((p, i) => ({
          part: i + 1,
          volume: p.volume.index,
          name: p.region.name,
          size: p.region.size,
          sha256: p.sha256!,
        })),
      })
    for (const piece of pieces) {
      piece.volume.pending--
      this.maybeFinish(piece.volume)
    }
  }

  async addBuffer(name: string, data: Buffer): Promise<void> {
    const region = await this.reserve(name, data.length)
    await this.fill(
      region,
      (async function* () {
        yield data
      })(),
    )
    await this.writeHeader(region)
  }

  async addDirectory(name: string): Promise<void> {
    const dir = name.endsWith('/') ? name : `${name}/`
    const next = this.lock.then(async () => {
      if (!this.fits(this.current(), dir, 0)) await this.startVolume()
      await this.current().tar.addDirectory(dir)
    })
    this.lock = next.catch(() => undefined)
    await next
  }

  /** A volume no later entry can go to, with nothing left to write, is finished now. */
  private maybeFinish(volume: Volume): void {
    if (volume.done || volume.pending > 0 || volume === this.current()) return
    volume.done = this.finish(volume)
    volume.done.catch(error => (this.failure ??= error))
  }

  private async finish(volume: Volume): Promise<{size: number; sha256: string}> {
    await volume.tar.finish()
    const size = volume.tar.bytesWritten
    const sha256 = await volume.hash.digest(size)
    this.hashes.releaseFile(volume.temp)
    await volume.fh.close()
    return {size, sha256}
  }

  async commit(force: boolean): Promise<{bytes: number}> {
    const last = this.current()
    if (last.pending > 0) throw new AirlockError('INTERNAL', 'commit with entries still being written')
    last.done = this.finish(last)
    const finished = await Promise.all(this.volumes.map(v => v.done!))
    if (this.failure) throw toAirlockError(this.failure, 'IO_ERROR')
    const records: VolumeRecord[] = this.volumes.map((v, i) => ({
      volume: v.index,
      file: basename(v.file),
      size: finished[i]!.size,
      sha256: finished[i]!.sha256,
    }))
    const totalBytes = records.reduce((n, r) => n + r.size, 0)
    const manifest: VolumesJson = {
      airlockVolumes: VOLUMES_FORMAT,
      setId: this.setId,
      name: basename(this.base),
      volumeSize: this.capacity,
      count: records.length,
      totalBytes,
      volumes: records,
      split: this.split.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0)),
    }
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)
    const manifestPath = manifestFile(this.base)
    const manifestTemp = partialName(manifestPath)
    const unregister = removeOnSignal(manifestTemp)
    try {
      await writeFile(manifestTemp, bytes, {flag: 'wx', mode: 0o644})
      const fh = await open(manifestTemp, 'r+')
      await fh.sync().finally(() => fh.close())
      // Volumes first, volumes.json last: a set whose volumes.json is there is complete. The volumes are all in
      // one directory: one fsync of it makes every rename durable before volumes.json's (one per file cost a
      // journal commit each, at the very end of the export).
      for (const v of this.volumes) {
        await renameInto(v.temp, v.file, force)
        v.unregister()
      }
      await fsyncDir(dirname(manifestPath))
      await commitFile(manifestTemp, manifestPath, force)
      // A forced export over a larger set: its later volumes would pass for part of this one in NAME.vol*.
      let removed = false
      for (let i = records.length + 1; i <= MAX_VOLUMES && (await exists(volumeFile(this.base, i))); i++) {
        await rm(volumeFile(this.base, i), {force: true})
        removed = true
      }
      if (removed) await fsyncDir(dirname(manifestPath))
    } catch (error) {
      await this.abort()
      await removeQuiet(manifestTemp)
      throw error
    } finally {
      unregister()
    }
    this.result = {
      manifest: manifestPath,
      manifestSha256: createHash('sha256').update(bytes).digest('hex'),
      setId: this.setId,
      count: records.length,
      volumeSize: this.capacity,
      totalBytes,
      volumes: records.map(r => ({file: join(dirname(this.base), r.file), size: r.size, sha256: r.sha256})),
      split: this.split.length,
    }
    return {bytes: totalBytes}
  }

  summary(): VolumeSetSummary {
    if (!this.result) throw new AirlockError('INTERNAL', 'volume set not committed')
    return this.result
  }

  async abort(): Promise<void> {
    this.giveUp(new AirlockError('IO_ERROR', 'the volume set was aborted'))
    for (const v of this.volumes) {
      await v.fh.close().catch(() => undefined)
      await removeQuiet(v.temp)
      v.unregister()
    }
  }
}

export {VOLUME_LABEL}
