/// <reference lib="dom" />
// Benchmark of the file reports (issue 16 item 3): how long `verify --report` takes to write a 1,000-image report
// and how long Chromium takes to load and lay it out. `node bench/report.ts [--images N]`; bench/run.ts runs it as
// its `report` step. The report model is synthetic but shaped like a real verify of signed multi-platform images
// (two platforms, three signatures with every named check each, a TUF trust section), since a real 1,000-image
// verify would measure verify, not the report. Prints one JSON line: {images, htmlBytes, markdownBytes,
// writeHtmlSeconds, writeMarkdownSeconds, renderSeconds}.
import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {verifyDocument, type VerifyEvidence} from '../src/report/evidence.ts'
import {writeReport} from '../src/report/write.ts'
import type {ImageReport, VerifyReport} from '../src/verify/report-model.ts'
import {launchChromium, loadFile} from '../test/support/browser.ts'

const at = process.argv.indexOf('--images')
const images = at > 0 ? Number(process.argv[at + 1]) : 1000
const hex = (i: number, salt: string) => (salt + i.toString(16)).padStart(64, '0').slice(-64)
const CHECKS = [
  'subject-digest',
  'certificate-chain',
  'sct',
  'set',
  'inclusion-proof',
  'checkpoint',
  'tlog-body',
  'tlog',
  'signature',
  'identity-policy',
]

function image(i: number): ImageReport {
  const digest = `sha256:${hex(i, 'a')}` as ImageReport['digest']
  const node = (salt: string, size: number) => ({
    digest: `sha256:${hex(i, salt)}` as ImageReport['digest'],
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size,
  })
  const results = [0, 1, 2].map(n => ({
    ok: true,
    kind: 'bundle',
    role: n === 1 ? 'attestation' : 'signature',
    source: `referrer sha256:${hex(i * 3 + n, 'c').slice(0, 12)} layer 0`,
    signer: {identity: 'release@siderolabs.com', issuer: 'https://accounts.google.com', keyed: false},
    tlog: [
      {logIndex: String(100000 + i * 3 + n), logId: 'x', kind: 'dsse', integratedTime: '2026-11-26T09:05:45.000Z'},
    ],
    checks: CHECKS.map(name => ({name, status: 'pass'})),
    insecureIgnoreTlog: false,
    warnings: [],
  }))
  return {
    reference: `ghcr.io/siderolabs/image-${i}:v1.11.0`,
    digest,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    ok: true,
    platforms: ['linux/amd64', 'linux/arm64'].map((platform, p) => ({
      platform,
      digest: node(`m${p}`, 1200).digest,
      manifest: node(`m${p}`, 1200),
      config: node(`c${p}`, 2400),
      layers: [node(`l${p}a`, 30_000_000), node(`l${p}b`, 2_000_000)],
      bytes: 32_003_600,
    })),
    omittedPlatforms: [],
    bytes: 64_007_200,
    checks: [
      {name: 'integrity', ok: true, reasons: []},
      {
        name: 'signatures',
        ok: true,
        reasons: [],
        info: [
          `verified ${digest.slice(0, 19)}: signed by release@siderolabs.com (issuer https://accounts.google.com)`,
        ],
        details: {ok: true, coveredBy: 'root', subjects: [{subjectDigest: digest, results}]},
      },
    ],
  }
}

const report: VerifyReport = {
  archive: 'talos.tar',
  ok: true,
  entries: images * 10,
  bytes: images * 64_007_200,
  blobs: images * 9,
  seconds: 120,
  problems: [],
  checks: [{name: 'trust', ok: true, reasons: [], info: ['TUF tuf-repo-cdn.sigstore.dev: root v13 ...']}],
  images: Array.from({length: images}, (_, i) => image(i)),
}
const evidence: VerifyEvidence = {
  report,
  archive: {path: 'talos.tar', sha256: 'f'.repeat(64), size: report.bytes},
  verifiedAt: new Date().toISOString(),
  host: 'bench',
  airlock: {version: 'bench'},
  policy: {kind: 'file', file: 'policy.yaml', sha256: 'e'.repeat(64)},
  signaturesChecked: true,
  notes: [],
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-report-'))
try {
  const html = join(dir, 'report.html')
  const md = join(dir, 'report.md')
  let t = performance.now()
  await writeReport(html, verifyDocument(evidence))
  const writeHtmlSeconds = (performance.now() - t) / 1000
  t = performance.now()
  await writeReport(md, verifyDocument(evidence))
  const writeMarkdownSeconds = (performance.now() - t) / 1000
  const browser = await launchChromium()
  let renderSeconds: number
  try {
    // Load and a forced layout of the whole page (what a reader waits for), browser start excluded: a first page
    // (a tiny file, untimed) starts Chromium's renderer and loads its fonts, as a reader's open browser already has.
    const warm = join(dir, 'warm.html')
    writeFileSync(warm, '<!DOCTYPE html><html lang="en"><body><p>warm</p></body></html>')
    await (await loadFile(browser, warm)).page.close()
    t = performance.now()
    // requests observed, not intercepted: interception adds a CDP round trip a reader's browser does not have
    const loaded = await loadFile(browser, html, {observeOnly: true})
    await loaded.page.evaluate(() => document.body.getBoundingClientRect().height)
    renderSeconds = (performance.now() - t) / 1000
    if (loaded.requests.length) throw new Error(`the report made requests: ${loaded.requests.join(', ')}`)
  } finally {
    await browser.close()
  }
  process.stdout.write(
    `${JSON.stringify({
      images,
      htmlBytes: statSync(html).size,
      markdownBytes: statSync(md).size,
      writeHtmlSeconds,
      writeMarkdownSeconds,
      renderSeconds,
    })}\n`,
  )
} finally {
  rmSync(dir, {recursive: true, force: true})
}
