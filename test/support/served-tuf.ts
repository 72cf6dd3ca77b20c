// A TUF repository served on loopback with its pinned root in a file, and `airlock export` of the example fixture
// carrying it: the set-up of the CLI tests of trust (test/trust-archive-cli.test.ts, test/forecast-cli.test.ts).
// The CLI fetches from the server in this process, so it runs asynchronously (runCli).
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {type CliRun, runCli} from './cli.ts'
import {startStaticServer, type StaticServer} from './static-server.ts'
import {TestTufRepo, type TufRepoOptions} from './tuf-repo.ts'

/** The unsigned example image of fixtures/example. */
export const FIXTURE = 'oci:fixtures/example:example.com/demo/hello:1.0'

export interface ServedTuf {
  repo: TestTufRepo
  server: StaticServer
  /** The repository's pinned root, written to DIR/root.json (what `--tuf-root` takes). */
  rootFile: string
  /** `airlock export --signatures optional --tuf-mirror URL --tuf-root ROOT -o out FIXTURE`. */
  exportTo(out: string): Promise<CliRun>
  stop(): Promise<void>
}

export async function serveTuf(dir: string, options: TufRepoOptions): Promise<ServedTuf> {
  const repo = new TestTufRepo(options)
  const server = await startStaticServer(repo.dir)
  const rootFile = join(dir, 'root.json')
  writeFileSync(rootFile, repo.pinnedRoot())
  return {
    repo,
    server,
    rootFile,
    exportTo: out =>
      runCli([
        'export',
        '--signatures',
        'optional',
        '--tuf-mirror',
        server.url,
        '--tuf-root',
        rootFile,
        '-o',
        out,
        FIXTURE,
      ]),
    async stop() {
      await server.stop()
      repo.remove()
    },
  }
}
