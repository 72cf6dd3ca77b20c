// The mirror registry as push and the mirror check see it: repositories by path under REGISTRY/PREFIX.
import type {Descriptor} from '../oci/descriptor.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from './client.ts'
import type {Repository} from './repository.ts'
import type {MirrorTarget} from '../reference/mirror-path.ts'

/** Structurally push's MirrorRegistry (src/push/push.ts): repositories by mirror path, referrers API detection. */
export class RegistryMirror {
  private readonly client: RegistryClient
  private readonly target: MirrorTarget
  private readonly repositories = new Map<string, Repository>()

  constructor(client: RegistryClient, target: MirrorTarget) {
    this.client = client
    this.target = target
  }

  /** `path` is the repository path inside the mirror registry (prefix included). */
  repository(path: string): Repository {
    let repository = this.repositories.get(path)
    if (!repository) {
      repository = this.client.repository(parseReference(`${this.target.registry}/${path}`))
      this.repositories.set(path, repository)
    }
    return repository
  }

  async supportsReferrers(
    path: string,
    subject: Descriptor,
    referrers: Array<Pick<Descriptor, 'digest' | 'size'>> = [],
  ): Promise<boolean> {
    return (await this.repository(path).referrersCapability(subject, referrers)) === 'api'
  }
}
