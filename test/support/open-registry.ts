// exportImages' `openRegistry` for library-level export tests: every source reference opened through one
// RegistryClient (the test's, with its insecure hosts, CA and credentials).
import {parseReference} from '../../src/reference/index.ts'
import type {RegistryClient} from '../../src/registry/index.ts'
import type {RegistryOpener} from '../../src/store/source.ts'

export function registryOpener(client: RegistryClient): RegistryOpener {
  return async reference => {
    const ref = parseReference(reference)
    return {
      store: client.repository(ref),
      name: ref.toString(),
      reference: ref.reference,
      ...(ref.tag ? {tag: ref.tag} : {}),
    }
  }
}
