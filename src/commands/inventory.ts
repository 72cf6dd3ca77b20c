import {writeFileSync, renameSync, rmSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {checkOutputFile} from '../cli/output-path.ts'
import {mirrorClient, mirrorRegistryFlags, type MirrorRegistryFlagValues} from '../cli/mirror-flags.ts'
import {keyPasswordFlag} from '../countersign/cli-flags.ts'
import {AirlockError} from '../errors.ts'
import {inventoryArchives, inventoryRegistry, inventoryTuf, newInventory} from '../inventory/collect.ts'
import {inventorySha256, serializeInventory} from '../inventory/format.ts'
import {keyFingerprint, signatureFileFor, signInventory} from '../inventory/signature.ts'
import {keyPassword, loadSigningKey} from '../keys/index.ts'
import {parseMirrorTarget} from '../reference/mirror-path.ts'
import {parseReference} from '../reference/index.ts'
import {defaultStateDir} from '../trust/state.ts'
import {formatBytes} from '../util/progress.ts'

export interface InventoryResult {
  inventory: string
  sha256: string
  sizeBytes: number
  repositories: number
  manifests: number
  blobs: number
  bytesPerBlob: number
  signatures: number
  tuf: number
  signature?: {file: string; keyId: string}
}

export default class Inventory extends BaseCommand {
  static override summary =
    'Write what the disconnected side already holds (a mirror, or archives imported) to a small JSON file for export --since.'
  static override description =
    "Per repository the manifests and blobs present (digest, size) and the signature tags, and per TUF mirror the versions the rollback state accepted. With --registry and no repository names, every repository the mirror's catalog lists (under its PREFIX) is inventoried; registries that refuse the catalog (GHCR, Docker Hub, Harbor for non-admins) need the names. Carry it back to the connected side; export --since FILE then leaves out the blobs it lists. With --key the file is signed (FILE.sig beside it, the cosign sign-blob format); export checks it with --inventory-key."
  static override examples = [
    '<%= config.bin %> inventory --registry registry.dc.local/mirror siderolabs/kubelet -o inventory.json',
    '<%= config.bin %> inventory --registry registry.dc.local/mirror -o inventory.json',
    '<%= config.bin %> inventory images.tar -o inventory.json --key site.key',
  ]
  static override strict = false
  static override args = {
    item: Args.string({
      description:
        'with --registry: repositories of the mirror (paths under REGISTRY[/PREFIX]; none: all the catalog lists); else archive files',
      required: false,
      ignoreStdin: true,
    }),
  }
  static override flags = {
    output: Flags.string({char: 'o', summary: 'Inventory file to write.', required: true}),
    force: Flags.boolean({summary: 'Replace an existing inventory at the output path.', default: false}),
    registry: Flags.string({
      summary:
        'Inventory this mirror REGISTRY[/PREFIX]: the repositories named as arguments, else every one its catalog lists.',
    }),
    key: Flags.string({
      summary: 'Sign the inventory with this key (cosign.key or a PEM private key): FILE.sig is written beside it.',
    }),
    ...keyPasswordFlag,
    state: Flags.string({
      summary: 'TUF rollback state directory to read accepted versions from (default: the verify default).',
    }),
    'no-state': Flags.boolean({summary: 'Record no TUF versions.', default: false}),
    ...mirrorRegistryFlags,
  }

  async run(): Promise<InventoryResult> {
    const {argv, flags} = await this.parse(Inventory)
    const items = argv as string[]
    if (items.length === 0 && !flags.registry)
      throw new AirlockError('USAGE', 'no archives to inventory', {
        hint: 'name archive files, or give --registry REGISTRY[/PREFIX] (and optionally repositories)',
      })
    checkOutputFile(flags.output, '-o', {force: flags.force})
    const password = keyPassword({stdin: flags['key-password-stdin']})
    const key = flags.key ? await loadSigningKey(flags.key, password) : undefined // a bad key fails before any work
    let repositories
    let source
    if (flags.registry) {
      const target = parseMirrorTarget(flags.registry)
      const client = mirrorClient(flags as MirrorRegistryFlagValues, {registry: target.registry})
      try {
        for (const name of items)
          if (/[:@]/.test(name))
            throw new AirlockError('USAGE', `${name}: name a repository, not an image (no tag or digest)`)
        // No names: the whole mirror (under its prefix), as its catalog lists it.
        const paths =
          items.length > 0
            ? items.map(name => (target.prefix ? `${target.prefix}/${name.replace(/^\/+/, '')}` : name))
            : await client.catalog(target.registry, {prefix: target.prefix})
        const repos = paths.map(path => ({
          name: path,
          repo: client.repository(parseReference(`${target.registry}/${path}`)),
        }))
        repositories = await inventoryRegistry(repos)
      } finally {
        client.close()
      }
      source = {registry: target.registry}
    } else {
      repositories = await inventoryArchives(items)
      source = {archives: items.map(f => f.split('/').pop() ?? f)}
    }
    const stateDir = flags['no-state'] ? undefined : (flags.state ?? defaultStateDir())
    const inventory = newInventory(source, repositories, inventoryTuf(stateDir))
    const bytes = serializeInventory(inventory)
    const tmp = `${flags.output}.${process.pid}.tmp`
    const sigFile = signatureFileFor(flags.output)
    try {
      writeFileSync(tmp, bytes)
      if (key) writeFileSync(`${sigFile}.${process.pid}.tmp`, signInventory(key, bytes))
      renameSync(tmp, flags.output)
      if (key) renameSync(`${sigFile}.${process.pid}.tmp`, sigFile)
    } catch (error) {
      rmSync(tmp, {force: true})
      rmSync(`${sigFile}.${process.pid}.tmp`, {force: true})
      throw new AirlockError('IO_ERROR', `cannot write ${flags.output}: ${(error as Error).message}`)
    }
    const blobs = repositories.reduce((n, r) => n + r.blobs.length, 0)
    const result: InventoryResult = {
      inventory: flags.output,
      sha256: inventorySha256(bytes),
      sizeBytes: bytes.length,
      repositories: repositories.length,
      manifests: repositories.reduce((n, r) => n + r.manifests.length, 0),
      blobs,
      bytesPerBlob: blobs > 0 ? Math.round(bytes.length / blobs) : 0,
      signatures: repositories.reduce((n, r) => n + r.signatures.length, 0),
      tuf: inventory.tuf.length,
      ...(key ? {signature: {file: sigFile, keyId: keyFingerprint(key.publicKey)}} : {}),
    }
    this.log(
      `wrote ${flags.output}: ${result.repositories} repositories, ${result.manifests} manifests, ${blobs} blobs, ${result.signatures} signature tags, ${result.tuf} TUF mirror(s); ${formatBytes(bytes.length)} (${result.bytesPerBlob} bytes per blob), ${result.sha256}`,
    )
    if (key) this.log(`signed: ${sigFile} (key ${result.signature!.keyId})`)
    return result
  }
}
