// The mirror registry behind push's MirrorRegistry seam, built on the project's registry client.
import type {Descriptor} from '../oci/descriptor.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient, Repository} from '../registry/index.ts'
import type {MirrorTarget} from './mapping.ts'
import type {MirrorRegistry} from './push.ts'

export class RegistryMirror implements MirrorRegistry {
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

  async supportsReferrers(path: string, subject: Descriptor, referrers: Array<Pick<Descriptor, 'digest' | 'size'>> = []): Promise<boolean> {
    return (await this.repository(path).referrersCapability(subject, referrers)) === 'api'
  }
}
