// `npm test` runs this first: the suite starts real registries and compares with real tools, so a machine without
// them fails here within a second, in one line naming what to run, instead of failing in the middle (spawn ENOENT)
// or hanging. The list is what the tests execute; keep it in step with .ci/run and the README.
import {accessSync, constants} from 'node:fs'
import {delimiter, join} from 'node:path'

interface Tool {
  /** What the tests run: an absolute path, or a name looked up on PATH. */
  command: string
  /** The Debian package that brings it. */
  debian: string
}

export const TOOLS: Tool[] = [
  {command: '/usr/bin/docker-registry', debian: 'docker-registry'},
  {command: 'skopeo', debian: 'skopeo'},
  {command: 'openssl', debian: 'openssl'},
  {command: '/usr/bin/time', debian: 'time'},
  // test/package.test.ts: checks the executables and runs the smoke test in a network namespace
  {command: 'sha256sum', debian: 'coreutils'},
  {command: 'file', debian: 'file'},
  {command: 'unshare', debian: 'util-linux'},
  {command: 'nsenter', debian: 'util-linux'},
  {command: 'ip', debian: 'iproute2'},
  // scripts/package.ts strips the Node binaries of both executables
  {command: 'strip', debian: 'binutils'},
  {command: 'aarch64-linux-gnu-strip', debian: 'binutils-aarch64-linux-gnu'},
  // the hostile corpus compresses archives with the real tools (refused by name)
  {command: 'xz', debian: 'xz-utils'},
  {command: 'bzip2', debian: 'bzip2'},
  // test/verify-report.test.ts and the benchmark open the HTML reports in headless Chromium (puppeteer-core)
  {command: '/usr/bin/chromium', debian: 'chromium'},
]

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function missingTools(path = process.env.PATH ?? ''): Tool[] {
  return TOOLS.filter(tool =>
    tool.command.startsWith('/')
      ? !executable(tool.command)
      : !path.split(delimiter).some(dir => dir && executable(join(dir, tool.command))),
  )
}

if (import.meta.main) {
  const major = Number(process.versions.node.split('.')[0])
  const problems: string[] = []
  if (major < 22)
    problems.push(
      `Node.js ${process.version} runs the tests (22 is needed: run them with "npm test", which puts node_modules/.bin first on PATH, after "npm ci")`,
    )
  const missing = missingTools()
  if (missing.length > 0)
    problems.push(
      `missing ${missing.map(t => t.command).join(', ')}: run "sudo bash .ci/run" (installs them and runs the tests) or "sudo apt-get install ${[...new Set(missing.map(t => t.debian))].join(' ')}"`,
    )
  if (problems.length > 0) {
    process.stderr.write(`airlock tests cannot run: ${problems.join('; ')}\n`)
    process.exit(1)
  }
}
