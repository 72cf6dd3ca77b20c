import type {Digest} from './digest.ts'

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

/** An OCI content descriptor: what a piece of content is, how big, and its digest. */
export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  platform?: Platform
  artifactType?: string
  data?: string
}

export function platformString(p: Platform | undefined): string {
  if (!p) return 'unknown'
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}
