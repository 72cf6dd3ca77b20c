// Where export reads an image from (skopeo's transports): a registry, an OCI layout directory or an OCI archive.
import type {ReadOnlyTarget} from './types.ts'

export type SourceSpec =
  | {transport: 'oci'; input: string; path: string; ref?: string}
  | {transport: 'oci-archive'; input: string; path: string; ref?: string}
  | {transport: 'registry'; input: string; ref: string}

export interface Source {
  spec: SourceSpec
  store: ReadOnlyTarget & {isLocal?: boolean}
  /** What to pass to store.resolve(). */
  reference: string
  /** The full reference recorded in the archive (index.json ref.name, airlock.json images[].reference). */
  name: string
  tag?: string
}
