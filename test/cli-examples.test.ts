// Issue 12 item 1: every command example in README.md (```sh blocks) and every `--help` example (each command's
// oclif `examples`) runs, through the built CLI, against fixtures this test makes: real registries (TLS + Basic auth),
// TUF repositories over HTTP, images signed by the test Sigstore instance, archives exported by the CLI itself.
// A documented command can no longer be broken without this test failing.
//
// How an example becomes runnable here is explicit, never silent:
//  - HOSTS: names the examples use are rewritten to the loopback services (table below);
//  - PLACEHOLDERS: literal placeholders (`sha256:<hex>`) are replaced by the real value;
//  - APPENDED: flags added because the public-good Sigstore instance is replaced by the test one (the pinned TUF
//    root shipped inside airlock cannot sign the test's trusted root);
//  - NOT_RUN: lines that are not airlock commands (development workflow, tools needing a human), each with why.
// Any example line that no rule covers fails the test, so a new README example is either runnable or listed.
// To extend: add the file the new example names to `seedWorkdir`, or a row to one of the tables.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  symlinkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {sha256} from '../src/oci/digest.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {mirrorIdFor} from '../src/trust/index.ts'
import {LayoutBuilder} from './support/layouts.ts'
import {startRegistry, TEST_PASSWORD, TEST_USER, type StartedRegistry} from './support/registry.ts'
import {
  createTestSigstore,
  referrersIndex,
  sampleImage,
  sampleIndex,
  type TestSigstore,
} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {TestTufRepo} from './support/tuf-repo.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Example lines that are not airlock commands, and why they are not run here. */
const NOT_RUN: Array<{match: RegExp; reason: string}> = [
  {
    match: /^npm (ci|test|run )/,
    reason: 'development workflow (installs, builds, runs this suite or the benchmark), not an airlock example',
  },
  {match: /^PATH=.* node --test /, reason: 'development workflow: runs one test file'},
  {match: /^bash scripts\/fuzz-long\.sh/, reason: 'development workflow: the long fuzzing run (minutes)'},
  {
    match: /^talosctl images default > images\.txt$/,
    reason:
      'talosctl needs a Talos release and its network; the test writes images.txt itself (the signed test images)',
  },
  {
    match: /^talosctl /,
    reason:
      'talosctl applies the emitted documents to a Talos node; test/walkthrough.test.ts parses them and checks the key they carry',
  },
  // "Talos in a disconnected datacenter": steps that build on each other (key pair, push with countersign, the
  // Talos view of the mirror), run in order by test/walkthrough.test.ts against its own registries.
  {
    match: /dc-gap|talos-verify\.yaml/,
    reason: 'a step of the README walkthrough, run in order by test/walkthrough.test.ts',
  },
  // "Install on the disconnected side": needs the executables of `npm run package`; test/package.test.ts builds them,
  // checks SHA256SUMS with sha256sum -c and each bundle with airlock verify-blob --key.
  {
    match: /^sha256sum -c SHA256SUMS/,
    reason: 'checks the release executables: run by test/package.test.ts after npm run package',
  },
  {
    match: /verify-blob --key release\.pub/,
    reason: 'checks a release executable: run by test/package.test.ts against the built executables and their bundles',
  },
  {
    match: /^cosign verify-blob/,
    reason: 'cosign is not installed here; the same bundle is checked with airlock verify-blob in test/package.test.ts',
  },
  {
    match: /^chmod \+x airlock-|^tar -xf images\.tar airlock\//,
    reason: 'handles a release executable: run by test/package.test.ts (smoke test, --include-airlock)',
  },
  {
    match: /^airlock countersign talos\.tar /,
    reason:
      'needs a mirror that already holds the verified images: test/countersign-cli.test.ts runs airlock countersign ARCHIVE MIRROR --key on one',
  },
]

/** Signers of the test images: the identities the examples' policies name. */
const SIDEROLABS = {identity: 'release@siderolabs.com', issuer: 'https://accounts.google.com'}
const ORG = {identity: 'ci@org.example', issuer: 'https://accounts.google.com'}

interface World {
  source: StartedRegistry
  mirror: StartedRegistry
  ss: TestSigstore
  publicTuf: {repo: TestTufRepo; server: StaticServer}
  internalTuf: {repo: TestTufRepo; server: StaticServer}
  /** files every example starts with (archives, keys, policy, lists), copied into its own directory */
  seed: string
  env: NodeJS.ProcessEnv
  blobDigest: string
}

/** HOSTS: longest names first, so `registry.dc.local:5000` is not half-replaced by `registry.dc.local`. */
function hostTable(w: World): Array<[string, string]> {
  return [
    ['https://tuf-repo-cdn.sigstore.dev', w.publicTuf.server.url],
    ['https://tuf.internal.example', w.internalTuf.server.url],
    ['tuf.internal.example=', `${mirrorIdFor(w.internalTuf.server.url)}=`],
    ['registry.dc.local:5000', w.mirror.host],
    ['registry.dc.local', w.mirror.host],
    ['ghcr.io', w.source.host],
    // the examples' mirror user; its password comes on stdin (--password-stdin), as the README says
    ['--username mirror', `--username ${TEST_USER}`],
    ['--username U', `--username ${TEST_USER}`],
    // the pipeline form: what `talosctl images default` would print is the list the test wrote
    ['talosctl images default |', 'cat images.txt |'],
  ]
}

function placeholders(w: World): Array<[string, string]> {
  return [
    ['sha256:<hex>', w.blobDigest],
    ['sha256:0123...', w.blobDigest],
  ]
}

/** APPENDED: the public-good TUF repository and its shipped pinned root are replaced by the test's; see below. */
function appended(w: World, command: string): string[] {
  const sub = /^airlock (\S+)/.exec(command)?.[1]
  const publicRoot = `--tuf-root ${mirrorIdFor(w.publicTuf.server.url)}=public-root.json`
  if (sub === 'export' && !/--no-tuf/.test(command))
    return /--tuf-mirror/.test(command) ? [publicRoot] : [`--tuf-mirror ${w.publicTuf.server.url}`, publicRoot]
  // The test's archives carry both TUF repositories (as the README's trust section exports them): a verify or push
  // example that does not pin the private instance's root itself gets it appended, as a site would always pass it.
  const internalRoot = `--tuf-root ${mirrorIdFor(w.internalTuf.server.url)}=root.json`
  if (sub === 'verify' || sub === 'push')
    return command.includes(internalRoot) ? [publicRoot] : [publicRoot, internalRoot]
  return []
}

/** One logical command per line: backslash continuations joined, blank lines and whole-line comments dropped. */
export function commandsOf(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l && !l.startsWith('#'))
}

function readmeExamples(): Array<{source: string; command: string}> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const out: Array<{source: string; command: string}> = []
  for (const m of readme.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const command of commandsOf(m[1]!)) out.push({source: 'README.md', command})
  return out
}

async function helpExamples(): Promise<Array<{source: string; command: string}>> {
  const out: Array<{source: string; command: string}> = []
  for (const file of readdirSync(join(ROOT, 'src/commands')).filter(f => f.endsWith('.ts'))) {
    const command = (await import(join(ROOT, 'src/commands', file))).default as {
      examples?: Array<string | {command: string}>
    }
    for (const example of command.examples ?? []) {
      const text = typeof example === 'string' ? example : example.command
      out.push({
        source: `airlock ${file.replace(/\.ts$/, '')} --help`,
        command: text.replaceAll('<%= config.bin %>', 'airlock'),
      })
    }
  }
  return out
}

function rewrite(w: World, command: string): string {
  let text = command
  for (const [from, to] of [...hostTable(w), ...placeholders(w)]) text = text.replaceAll(from, to)
  // Extra flags go after each airlock command of a pipeline, before any shell redirection or comment.
  return text.replace(
    /(airlock [^|>#]*?)(\s*(?:>[^|]*)?(?:#.*)?)$/,
    (_all, cmd: string, rest: string) => [cmd.trimEnd(), ...appended(w, cmd.trim())].join(' ') + rest,
  )
}

function run(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{status: number | null; stdout: string; stderr: string}> {
  return new Promise(resolve => {
    const child = spawn('sh', ['-c', command], {cwd, env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    // --password-stdin reads the mirror password; examples without it never read stdin.
    child.stdin.end(`${TEST_PASSWORD}\n`)
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('close', status => {
      clearTimeout(timer)
      resolve({status, stdout, stderr})
    })
  })
}

async function signedImages(w: Pick<World, 'source' | 'ss'>, client: RegistryClient): Promise<void> {
  // Each image is signed three ways (siderolabs and org identities, keyless; the instance's static key), so every
  // policy the examples write is satisfied by one of its signatures.
  for (const [repository, tag] of [
    ['siderolabs/kubelet', 'v1.33.0'],
    ['siderolabs/installer', 'v1.11.0'],
    ['org/app', '1.0'],
  ] as const) {
    const name = `${w.source.host}/${repository}`
    const repo = client.repository(parseReference(`${name}:${tag}`))
    const amd = sampleImage(`${repository}-amd64`)
    const arm = sampleImage(`${repository}-arm64`, {architecture: 'arm64', os: 'linux'})
    await putImage(repo, amd)
    await putImage(repo, arm)
    const index = sampleIndex([
      {image: amd, platform: {architecture: 'amd64', os: 'linux'}},
      {image: arm, platform: {architecture: 'arm64', os: 'linux'}},
    ])
    await repo.pushManifest(index.bytes, index.descriptor.mediaType, tag)
    const signatures = [
      w.ss.signImageBundle(index.descriptor, name, SIDEROLABS),
      w.ss.signImageBundle(index.descriptor, name, ORG),
      w.ss.signImageBundle(index.descriptor, name, {key: true}),
    ]
    for (const s of signatures) await putImage(repo, s)
    const fallback = referrersIndex(signatures)
    await repo.pushManifest(fallback.bytes, fallback.descriptor.mediaType, index.descriptor.digest.replace(':', '-'))
  }
}

describe('every README and --help example runs', () => {
  let w: World
  let base: string
  let internal: TestSigstore | undefined

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'airlock-examples-'))
    const [source, mirror] = await Promise.all([startRegistry({auth: 'basic-tls'}), startRegistry({auth: 'basic-tls'})])
    const ss = await createTestSigstore()
    const trustedRoot = Buffer.from(ss.trustedRootJSON())
    const publicRepo = new TestTufRepo({rootVersions: 2, trustedRoot})
    // The private instance of the README's trust section: a second Sigstore instance of its own.
    internal = await createTestSigstore({listen: false, name: 'internal.example'})
    const internalRepo = new TestTufRepo({rootVersions: 1, trustedRoot: Buffer.from(internal.trustedRootJSON())})
    const [publicServer, internalServer] = await Promise.all([
      startStaticServer(publicRepo.dir),
      startStaticServer(internalRepo.dir),
    ])
    const seed = join(base, 'seed')
    mkdirSync(seed)
    // --help examples name the repository's own fixtures by relative path
    symlinkSync(join(ROOT, 'fixtures'), join(seed, 'fixtures'))
    // The CAs of both registries are trusted the way a site installs its CA (NODE_EXTRA_CA_CERTS); dc-ca.pem, the
    // README's --ca-file, is the mirror's. Credentials come from a Docker config, as on a configured host.
    const caBundle = join(base, 'ca-bundle.pem')
    writeFileSync(caBundle, readFileSync(source.caFile!, 'utf8') + readFileSync(mirror.caFile!, 'utf8'))
    copyFileSync(mirror.caFile!, join(seed, 'dc-ca.pem'))
    const docker = join(base, 'docker')
    mkdirSync(docker)
    const auth = Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')
    writeFileSync(join(docker, 'config.json'), JSON.stringify({auths: {[source.host]: {auth}, [mirror.host]: {auth}}}))
    const shim = join(base, 'bin')
    mkdirSync(shim)
    writeFileSync(join(shim, 'airlock'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/run.js')}" "$@"\n`)
    chmodSync(join(shim, 'airlock'), 0o755)
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${shim}:${process.env.PATH}`,
      NODE_EXTRA_CA_CERTS: caBundle,
      DOCKER_CONFIG: docker,
      XDG_STATE_HOME: join(base, 'state'),
      XDG_CACHE_HOME: join(base, 'cache'),
    }
    delete env.NODE_TEST_CONTEXT

    const blob = Buffer.from('a release artifact\n')
    w = {
      source,
      mirror,
      ss,
      publicTuf: {repo: publicRepo, server: publicServer},
      internalTuf: {repo: internalRepo, server: internalServer},
      seed,
      env,
      blobDigest: sha256(blob),
    }

    const client = new RegistryClient({caFile: caBundle, username: TEST_USER, password: TEST_PASSWORD})
    try {
      await signedImages(w, client)
    } finally {
      client.close()
    }

    // Files the examples name.
    writeFileSync(join(seed, 'trusted_root.json'), trustedRoot)
    writeFileSync(join(seed, 'public-root.json'), publicRepo.pinnedRoot())
    writeFileSync(join(seed, 'root.json'), internalRepo.pinnedRoot())
    writeFileSync(join(seed, 'cosign.pub'), ss.staticKeyPem)
    writeFileSync(join(seed, 'password.txt'), 'gap-password\n')
    writeFileSync(
      join(seed, 'images.txt'),
      `# what talosctl images default would list\n${source.host}/siderolabs/kubelet:v1.33.0\n${source.host}/siderolabs/installer:v1.11.0\n`,
    )
    writeFileSync(
      join(seed, 'policy.yaml'),
      [
        'kind: ImageVerificationConfig',
        'rules:',
        '  - image: "**"',
        `    keyless: {issuer: ${SIDEROLABS.issuer}, subjectRegex: '@siderolabs\\.com$'}`,
        '',
      ].join('\n'),
    )
    for (const [file, signer] of [
      ['talosctl-linux-amd64', SIDEROLABS],
      ['release.tar.gz', {identity: 'release@example.com', issuer: 'https://accounts.google.com'}],
    ] as const) {
      writeFileSync(join(seed, file), `${file} contents\n`)
      writeFileSync(
        join(seed, `${file}.sigstore.json`),
        JSON.stringify(ss.signBlob(Buffer.from(`${file} contents\n`), signer).bundle),
      )
    }
    writeFileSync(join(seed, 'b.sigstore.json'), JSON.stringify(ss.signBlob(blob, {key: true}).bundle))
    // oci:./build/layout:app:dev and oci-archive:base.tar:base:1.0 (a local build: unsigned).
    const layout = await LayoutBuilder.create(join(seed, 'build/layout'))
    await layout.tag(
      await layout.image([await layout.blob(Buffer.from('app layer'), 'application/vnd.oci.image.layer.v1.tar+gzip')]),
      'app:dev',
    )
    const baseLayout = await LayoutBuilder.create(join(base, 'base-layout'))
    await baseLayout.tag(
      await baseLayout.image([
        await baseLayout.blob(Buffer.from('base layer'), 'application/vnd.oci.image.layer.v1.tar+gzip'),
      ]),
      'base:1.0',
    )
    const tar = await run(`tar -cf "${join(seed, 'base.tar')}" -C "${baseLayout.dir}" .`, seed, env)
    assert.equal(tar.status, 0, tar.stderr)

    // The archives the examples verify and push: exported by the CLI (both TUF mirrors, all three images), and the
    // mirror the README's `verify --registry` checks, pushed by the CLI.
    const made = await run(
      rewrite(
        w,
        `airlock export -o signed.tar --tuf-mirror https://tuf-repo-cdn.sigstore.dev --tuf-mirror https://tuf.internal.example --tuf-root tuf.internal.example=root.json -f images.txt ghcr.io/org/app:1.0`,
      ),
      seed,
      env,
    )
    assert.equal(made.status, 0, made.stderr)
    // The same export as a volume set (talos.vol*.tar, talos.volumes.json) for the volume examples (issue 17).
    const set = await run(
      rewrite(
        w,
        `airlock export -o talos.tar --volume-size 64Ki --tuf-mirror https://tuf-repo-cdn.sigstore.dev --tuf-mirror https://tuf.internal.example --tuf-root tuf.internal.example=root.json -f images.txt ghcr.io/org/app:1.0`,
      ),
      seed,
      env,
    )
    assert.equal(set.status, 0, set.stderr)
    for (const name of ['talos.tar', 'images.tar', 'app.tar', 'talos-1.10.tar', 'talos-1.11.tar'])
      copyFileSync(join(seed, 'signed.tar'), join(seed, name))
    rmSync(join(seed, 'signed.tar'))
    const pushed = await run(
      rewrite(w, 'airlock push talos.tar registry.dc.local/mirror --policy policy.yaml'),
      seed,
      env,
    )
    assert.equal(pushed.status, 0, pushed.stderr)
    // Monthly updates (issue 17): the site key, a signed inventory of that mirror, the delta exported from it, and
    // a trust refresh carrying both TUF repositories (verify examples pin both roots).
    const site = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    writeFileSync(join(seed, 'site.key'), site.privateKey.export({type: 'pkcs8', format: 'pem'}))
    writeFileSync(join(seed, 'site.pub'), site.publicKey.export({type: 'spki', format: 'pem'}))
    for (const step of [
      'airlock inventory --registry registry.dc.local/mirror siderolabs/kubelet siderolabs/installer -o dc-inventory.json --key site.key',
      'airlock export -f images.txt -o update.tar --since dc-inventory.json --inventory-key site.pub --tuf-mirror https://tuf-repo-cdn.sigstore.dev --tuf-mirror https://tuf.internal.example --tuf-root tuf.internal.example=root.json',
      'airlock export --trust-only -o trust.tar --tuf-mirror https://tuf-repo-cdn.sigstore.dev --tuf-mirror https://tuf.internal.example --tuf-root tuf.internal.example=root.json',
    ]) {
      const made = await run(rewrite(w, step), seed, env)
      assert.equal(made.status, 0, `${step}\n${made.stderr}`)
    }
  })

  after(async () => {
    await Promise.all([
      w?.source.stop(),
      w?.mirror.stop(),
      w?.publicTuf.server.stop(),
      w?.internalTuf.server.stop(),
      w?.ss.stop(),
      internal?.stop(),
    ])
    w?.publicTuf.repo.remove()
    w?.internalTuf.repo.remove()
    if (base) rmSync(base, {recursive: true, force: true})
  })

  it("finds the examples (README blocks and every command's --help)", async () => {
    const readme = readmeExamples()
    const help = await helpExamples()
    assert.ok(
      readme.filter(e => e.command.startsWith('airlock ')).length >= 12,
      `README examples found: ${readme.length}`,
    )
    for (const command of ['export', 'verify', 'push', 'inspect', 'verify-blob', 'diff'])
      assert.ok(
        help.some(e => e.source === `airlock ${command} --help`),
        `no --help example for ${command}`,
      )
  })

  it('every example line is run or listed with a reason', async () => {
    const unclassified = [...readmeExamples(), ...(await helpExamples())].filter(
      e => !/(^|\| *)([A-Z_]+=\S+ +)*airlock /.test(e.command) && !NOT_RUN.some(n => n.match.test(e.command)),
    )
    assert.deepEqual(unclassified, [], 'add these to NOT_RUN with a reason, or make them airlock commands')
  })

  it('runs each example: exit 0', async t => {
    let n = 0
    for (const example of [...readmeExamples(), ...(await helpExamples())]) {
      if (NOT_RUN.some(r => r.match.test(example.command))) continue
      n++
      await t.test(`${example.source}: ${example.command}`, async () => {
        const cwd = join(base, `run-${n}`)
        cpSync(w.seed, cwd, {recursive: true})
        const command = rewrite(w, example.command)
        // An export example writes its archive in a directory where it does not exist yet (the seed has one of that
        // name for the verify and push examples).
        const output = /airlock (?:export|inventory) .*?(?:-o|--output)[ =](\S+)/.exec(command)?.[1]
        if (output) for (const f of [output, `${output}.sig`]) rmSync(join(cwd, f), {force: true})
        // ... and no volume set of that name (export --volume-size writes NAME.vol*.tar and NAME.volumes.json).
        const setName = output?.replace(/\.tar$/, '')
        if (setName)
          for (const f of readdirSync(cwd)) if (f.startsWith(`${setName}.vol`)) rmSync(join(cwd, f), {force: true})
        // generate-key-pair refuses to overwrite a key: the seed's cosign.pub (for the --key examples) goes first.
        if (/airlock generate-key-pair/.test(command))
          for (const f of ['cosign.key', 'cosign.pub']) rmSync(join(cwd, f), {force: true})
        const r = await run(command, cwd, w.env)
        assert.equal(r.status, 0, `${command}\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout.slice(0, 4000)}`)
        rmSync(cwd, {recursive: true, force: true})
      })
    }
    assert.ok(n >= 20, `only ${n} examples ran`)
  })
})
