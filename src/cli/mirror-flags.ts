// The mirror's command-line flags, shared by `push` and `verify --registry` (one definition, one client builder),
// so both talk to the mirror the same way. The registry connection flags themselves live in
// src/cli/registry-flags.ts, shared with export.
import {Args, Flags} from '@oclif/core'
import {registryClientOptions, registryFlags, type RegistryFlagValues} from './registry-flags.ts'
import {RegistryClient} from '../registry/index.ts'

export const keepHostFlag = {
  'keep-host': Flags.boolean({
    summary: 'Keep the source registry host in the mirror path (REGISTRY/PREFIX/ghcr.io/...).',
    default: false,
  }),
}

export const mirrorRegistryFlags = registryFlags

/** ARCHIVE TARGET, the positional arguments of the commands that write into a mirror from an archive. */
export function archiveToMirrorArgs(archiveDescription: string) {
  return {
    archive: Args.string({description: archiveDescription, required: true, ignoreStdin: true}),
    target: Args.string({description: 'REGISTRY[/PREFIX] of the mirror', required: true, ignoreStdin: true}),
  }
}

export type MirrorRegistryFlagValues = RegistryFlagValues

/** The registry client for the mirror from its flags; explicit credentials belong to the mirror `registry`. */
export function mirrorClient(
  flags: MirrorRegistryFlagValues,
  options: {concurrency?: number; registry?: string} = {},
): RegistryClient {
  return new RegistryClient(
    registryClientOptions(flags, {concurrency: options.concurrency, defaultCredentialsRegistry: options.registry}),
  )
}

/** `--signature-forms`, shared by push (what is written) and verify --registry (what is expected on the mirror). */
export const signatureFormsFlag = {
  'signature-forms': Flags.string({
    summary:
      'Signature forms on the mirror. all (default): legacy .sig/.att tags and Sigstore bundle referrers; legacy: the .sig/.att/.sbom tags only, for registries that refuse bundle manifests (Quay <= 3.11). What is left out is reported; an image signed only by bundles is refused.',
    options: ['all', 'legacy'],
  }),
}
