// RFC 6962 section 2.1 Merkle Tree Hash over an append-only list of leaves: leaf hash sha256(0x00 || leaf),
// node hash sha256(0x01 || left || right), the largest power of two smaller than n splits the tree.
import {sha256} from './keys.ts'

export const leafHash = (leaf: Buffer): Buffer => sha256(Buffer.from([0x00]), leaf)
export const nodeHash = (left: Buffer, right: Buffer): Buffer => sha256(Buffer.from([0x01]), left, right)

const largestPowerOfTwoBelow = (n: number): number => {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

export class MerkleTree {
  /** Leaf hashes, in log index order. */
  readonly leaves: Buffer[] = []
  private readonly cache = new Map<string, Buffer>()

  get size(): number {
    return this.leaves.length
  }

  /** Appends a leaf (the raw entry body) and returns its index. */
  append(leaf: Buffer): number {
    this.leaves.push(leafHash(leaf))
    return this.leaves.length - 1
  }

  /** MTH(D[start:end]). */
  private subtree(start: number, end: number): Buffer {
    const n = end - start
    if (n === 0) return sha256()
    if (n === 1) return this.leaves[start]!
    const key = `${start}:${end}`
    const cached = this.cache.get(key)
    if (cached) return cached
    const k = largestPowerOfTwoBelow(n)
    const h = nodeHash(this.subtree(start, start + k), this.subtree(start + k, end))
    this.cache.set(key, h) // subtrees of a fixed range never change in an append-only log
    return h
  }

  /** Root hash of the tree of the first `size` leaves. */
  root(size = this.size): Buffer {
    return this.subtree(0, size)
  }

  /** RFC 6962 2.1.1 audit path for leaf `index` in the tree of size `size`, ordered from the leaf upwards. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    if (index < 0 || index >= size || size > this.size) throw new Error(`no leaf ${index} in a tree of size ${size}`)
    const path = (m: number, start: number, end: number): Buffer[] => {
      const n = end - start
      if (n <= 1) return []
      const k = largestPowerOfTwoBelow(n)
      if (m < k) return [...path(m, start, start + k), this.subtree(start + k, end)]
      return [...path(m - k, start + k, end), this.subtree(start, start + k)]
    }
    return path(index, 0, size)
  }

  /** RFC 6962 2.1.2 consistency proof between tree sizes m and n. */
  consistencyProof(m: number, n = this.size): Buffer[] {
    if (m < 1 || m > n || n > this.size) throw new Error(`invalid consistency range ${m}..${n}`)
    const subproof = (m_: number, start: number, end: number, complete: boolean): Buffer[] => {
      const n_ = end - start
      if (m_ === n_) return complete ? [] : [this.subtree(start, end)]
      const k = largestPowerOfTwoBelow(n_)
      if (m_ <= k) return [...subproof(m_, start, start + k, complete), this.subtree(start + k, end)]
      return [...subproof(m_ - k, start + k, end, false), this.subtree(start, start + k)]
    }
    return m === n ? [] : subproof(m, 0, n, true)
  }
}

/** Verifies an inclusion proof (RFC 9162 2.1.3.2); used by tests as an independent cross-check. */
export function verifyInclusion(leaf: Buffer, index: number, size: number, proof: Buffer[], root: Buffer): boolean {
  if (index >= size) return false
  let fn = index
  let sn = size - 1
  let r = leafHash(leaf)
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1
          sn >>= 1
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 && r.equals(root)
}
