import {existsSync} from 'node:fs'
import {writeFileAtomicSync} from '../util/files.ts'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {AirlockError} from '../errors.ts'
import {generateKeyPair, keyPassword, type KeyAlgorithm} from '../keys/index.ts'

const ALGORITHMS: Record<string, KeyAlgorithm> = {
  'ecdsa-p256': 'ecdsa-p256',
  'ecdsa-p384': 'ecdsa-p384',
  'ecdsa-p521': 'ecdsa-p521',
  ed25519: 'ed25519',
  'rsa-3072': 'rsa',
  'rsa-4096': 'rsa',
}

export default class GenerateKeyPair extends BaseCommand {
  static override summary = "Write a signing key pair in cosign's format: cosign.key (encrypted) and cosign.pub."
  static override description =
    'cosign.key is an ENCRYPTED SIGSTORE PRIVATE KEY (scrypt + NaCl secretbox, as cosign generate-key-pair writes it); cosign.pub is the PUBLIC KEY PEM that Talos publicKey rules and cosign verify --key take. ' +
    'The password comes from COSIGN_PASSWORD or one line on stdin (--key-password-stdin), never from the command line.'
  static override examples = [
    'COSIGN_PASSWORD=... <%= config.bin %> generate-key-pair',
    '<%= config.bin %> generate-key-pair --output-key-prefix dc-gap --key-password-stdin < password.txt',
  ]
  static override flags = {
    'output-key-prefix': Flags.string({summary: 'Write PREFIX.key and PREFIX.pub.', default: 'cosign'}),
    algorithm: Flags.string({summary: 'Key algorithm.', options: Object.keys(ALGORITHMS), default: 'ecdsa-p256'}),
    'key-password-stdin': Flags.boolean({
      summary: 'Read the password from stdin (else COSIGN_PASSWORD).',
      default: false,
    }),
    force: Flags.boolean({summary: 'Overwrite existing files.', default: false}),
  }

  async run(): Promise<{privateKey: string; publicKey: string; hint: string}> {
    const {flags} = await this.parse(GenerateKeyPair)
    const privateFile = `${flags['output-key-prefix']}.key`
    const publicFile = `${flags['output-key-prefix']}.pub`
    for (const file of [privateFile, publicFile])
      if (existsSync(file) && !flags.force)
        throw new AirlockError('USAGE', `${file} exists; refusing to overwrite a key`, {
          hint: 'choose another --output-key-prefix, or --force',
        })
    const password = keyPassword({stdin: flags['key-password-stdin']})()
    if (password.length === 0)
      process.stderr.write(
        'airlock: WARNING: the private key is encrypted with an EMPTY password (set COSIGN_PASSWORD or use --key-password-stdin)\n',
      )
    const algorithm = ALGORITHMS[flags.algorithm]!
    const pair = await generateKeyPair(password, algorithm, flags.algorithm === 'rsa-4096' ? 4096 : 3072)
    // Whole or not at all: a crash must not leave half a private key under the final name.
    const stale = [
      ...writeFileAtomicSync(privateFile, pair.privatePem, {mode: 0o600}),
      ...writeFileAtomicSync(publicFile, pair.publicPem),
    ]
    this.noteStale(stale, 'the key directory', 'left by an interrupted generate-key-pair')
    this.note(`Private key written to ${privateFile}`)
    this.note(`Public key written to ${publicFile}`)
    return {privateKey: privateFile, publicKey: publicFile, hint: pair.hint}
  }
}
