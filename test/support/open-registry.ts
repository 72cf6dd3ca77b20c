// exportImages' `openRegistry` for library-level export tests: every source reference opened through one
// RegistryClient (the test's, with its insecure hosts, CA and credentials).
import type {RegistryClient} from '../../src/registry/index.ts'
import {type RegistryOpener, registryOpener as opener} from '../../src/store/source.ts'

export function registryOpener(client: RegistryClient): RegistryOpener {
  return opener(() => client)
}
