// `--platform os/arch[/variant]` matching for index children.
import {AirlockError} from '../errors.ts'
import type {Platform} from '../oci/descriptor.ts'

export interface PlatformSpec {
  os: string
  architecture: string
  variant?: string
}

export function parsePlatform(text: string): PlatformSpec {
  const parts = text.trim().split('/')
  if (parts.length < 2 || parts.length > 3 || parts.some(p => !/^[a-z0-9._-]+$/i.test(p)))
    throw new AirlockError('USAGE', `invalid platform ${JSON.stringify(text)}`, {
      hint: 'use os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7',
    })
  const spec: PlatformSpec = {os: parts[0]!, architecture: parts[1]!}
  if (parts[2]) spec.variant = parts[2]
  return spec
}

/** arm64's only variant is v8, and registries write it or not: treat the two as the same platform. */
function variantOf(architecture: string, variant: string | undefined): string | undefined {
  return architecture === 'arm64' && variant === 'v8' ? undefined : variant
}

export function matchesPlatform(platform: Platform | undefined, specs: readonly PlatformSpec[]): boolean {
  if (!platform) return false
  return specs.some(
    spec =>
      spec.os === platform.os &&
      spec.architecture === platform.architecture &&
      (spec.variant === undefined ||
        variantOf(spec.architecture, spec.variant) === variantOf(platform.architecture, platform.variant)),
  )
}
