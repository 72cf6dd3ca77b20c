/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Issue 16 item 3: `verify --report FILE.html|FILE.md`. Archives are exported by the CLI from the repository's
// signed fixture (real Sigstore material), verified by the CLI, and the HTML report is opened in a real browser
// (Debian's Chromium, headless, every request intercepted): the verdict and per-image rows are read from the page,
// no request other than the page itself may be made, and a screenshot and an A4 PDF print are saved under
// test-results/. Archive content is attacker-written: an image name carrying markup must render as text.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {Browser} from 'puppeteer-core'
import {verifyDocument, type VerifyEvidence} from '../src/report/evidence.ts'
import {renderHtml} from '../src/report/html.ts'
import {renderMarkdown} from '../src/report/markdown.ts'
import type {VerifyReport} from '../src/verify/report-model.ts'
import {a4Overflow, launchChromium, loadFile, saveEvidence} from './support/browser.ts'
import {runCli} from './support/cli.ts'
import {EXAMPLE_POLICY, exportExampleArchives} from './support/example-archives.ts'
import {tempDir} from './support/layouts.ts'

const POLICY = EXAMPLE_POLICY
const HOSTILE = 'example.com/demo/<script>window.pwned=1</script><img src=https://evil.example/x.png>:1.0'

/** Rewrites one image name inside an archive's index.json and airlock.json (what a hostile exporter can do). */
function renameImage(archive: string, out: string, work: string, from: string, to: string): void {
  execFileSync('tar', ['-xf', archive, '-C', work])
  for (const file of ['index.json', 'airlock.json']) {
    const path = join(work, file)
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll(from, to))
  }
  const names = execFileSync('tar', ['-tf', archive], {encoding: 'utf8'}).split('\n').filter(Boolean)
  execFileSync('tar', ['-cf', out, '--no-recursion', '-C', work, ...names])
}

interface PageView {
  headline: string
  tone: string
  rows: Array<{outcome: string; image: string; digest: string; signer: string}>
  scripts: number
  pwned: unknown
  text: string
}

async function readReport(browser: Browser, file: string, name: string) {
  const loaded = await loadFile(browser, file)
  const view = await loaded.page.evaluate((): PageView => {
    const images = [...document.querySelectorAll('h2')].find(h => h.textContent === 'Images')?.parentElement
    const rows = [...(images?.querySelector('table')?.querySelectorAll('tbody tr') ?? [])].map(tr => {
      const td = [...tr.querySelectorAll('td')].map(c => c.textContent ?? '')
      return {outcome: td[0] ?? '', image: td[1] ?? '', digest: td[2] ?? '', signer: td[4] ?? ''}
    })
    // A reader scrolls through every section: lay out the ones content-visibility: auto has skipped so far, so the
    // rendered text (innerText) holds the whole page, with its cell spacing.
    for (const section of document.querySelectorAll<HTMLElement>('section section'))
      section.style.contentVisibility = 'visible'
    return {
      headline: document.querySelector('#verdict .headline')?.textContent ?? '',
      tone: document.querySelector('#verdict')?.getAttribute('data-tone') ?? '',
      rows,
      scripts: document.querySelectorAll('script').length,
      pwned: (window as unknown as {pwned?: unknown}).pwned,
      // biome-ignore lint/performance/useDomNodeTextContent: the text as laid out for a reader, with cell spacing
      text: document.body.innerText,
    }
  })
  const a4 = await a4Overflow(loaded.page)
  const saved = await saveEvidence(loaded.page, name)
  console.log(`report ${name}: screenshot ${saved.screenshot}, A4 print ${saved.pdf}`)
  const pdf = readFileSync(saved.pdf)
  await loaded.page.close()
  return {...loaded, view, pdf, a4}
}

describe('verify --report', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let browser: Browser
  let signed: string
  let hostile: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-report-'))
    const exported = await exportExampleArchives(dir)
    signed = exported.signed
    const two = exported.two
    hostile = join(dir, 'hostile.tar')
    const work = join(dir, 'unpacked')
    execFileSync('mkdir', ['-p', work])
    renameImage(two, hostile, work, 'example.com/demo/hello:1.0', HOSTILE)
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
    await cleanup?.()
  })

  it('a passing verify: the page says verified, one row per image with its signer, nothing loaded', async () => {
    const file = join(dir, 'verified.html')
    const r = await runCli(['verify', signed, ...POLICY, '--report', file])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /report written to .*verified\.html/)
    const {view, requests, errors, dialogs, pdf, a4} = await readReport(browser, file, 'verify-report-passed')
    assert.equal(a4, 0, 'the page is wider than A4 in print')
    assert.deepEqual(requests, [], 'the report loaded something besides itself')
    assert.deepEqual(errors, [])
    assert.deepEqual(dialogs, [])
    assert.equal(view.tone, 'ok')
    assert.match(view.headline, /^Verified/)
    assert.equal(view.rows.length, 1)
    assert.deepEqual(view.rows[0], {
      outcome: 'passed',
      image: 'registry.example.test/airlock/hello:v1',
      digest: 'sha256:8d0a539565aa0c62579469c11baa068018aee07765724f7c0a3ac0432f40d0d0',
      signer: 'release@example.test',
    })
    // The archive's sha256 as the page states it is the file's.
    const sha = execFileSync('sha256sum', [signed], {encoding: 'utf8'}).split(' ')[0]!
    assert.ok(view.text.includes(sha), 'archive sha256 missing from the page')
    for (const check of ['certificate-chain', 'sct', 'set', 'tlog-body', 'signature', 'identity-policy', 'integrity'])
      assert.ok(view.text.includes(check), `check ${check} not named`)
    assert.match(view.text, /--certificate-identity release@example\.test/)
    // An A4 PDF: 595 x 842 points.
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-')
    const box = /\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(pdf.toString('latin1'))
    assert.ok(box, 'no page box in the PDF')
    assert.ok(
      Math.abs(Number(box[1]) - 595) < 1 && Math.abs(Number(box[2]) - 842) < 1,
      `page is ${box[1]} x ${box[2]}, not A4`,
    )
  })

  it('a failing verify of a hostile archive: FAILED at the top, failures first, markup shown as text', async () => {
    const file = join(dir, 'failed.html')
    const r = await runCli(['verify', hostile, ...POLICY, '--report', file])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stdout, /report written to .*failed\.html \(verification failed\)/)
    const {view, requests, errors, dialogs, a4} = await readReport(browser, file, 'verify-report-failed')
    assert.equal(a4, 0, 'the page is wider than A4 in print')
    assert.deepEqual(requests, [], 'markup from the archive made the page load something')
    assert.deepEqual(errors, [])
    assert.deepEqual(dialogs, [])
    assert.equal(view.scripts, 0)
    assert.equal(view.pwned, undefined)
    assert.equal(view.tone, 'fail')
    assert.equal(view.headline, 'VERIFICATION FAILED')
    assert.deepEqual(
      view.rows.map(row => [row.outcome, row.image]),
      [
        ['FAILED', HOSTILE],
        ['passed', 'registry.example.test/airlock/hello:v1'],
      ],
    )
    assert.ok(view.text.indexOf('Failures') < view.text.indexOf('Archive'), 'failures are not listed first')
  })

  it('Markdown: the same facts for a change ticket, markup escaped', async () => {
    const file = join(dir, 'failed.md')
    const r = await runCli(['verify', hostile, ...POLICY, '--report', file])
    assert.equal(r.status, 1, r.stderr)
    const md = readFileSync(file, 'utf8')
    assert.match(md, /^# airlock verification report: /)
    assert.match(md, /^> ❌ \*\*VERIFICATION FAILED\*\*$/m)
    assert.doesNotMatch(md, /<script|<img/i)
    assert.ok(md.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;'))
    assert.match(md, /^\| ❌ \*\*FAILED\*\* \| example\.com\/demo\/&lt;script&gt;/m)
    assert.match(md, /^\| ✅ passed \| registry\.example\.test\/airlock\/hello:v1 \| `sha256:8d0a5395/m)
    assert.match(md, /release@example\.test/)
  })

  it('written when verification stops early (a damaged archive), and never left partial', async () => {
    const damaged = join(dir, 'damaged.tar')
    writeFileSync(damaged, readFileSync(signed))
    truncateSync(damaged, 3000)
    const file = join(dir, 'damaged.md')
    const r = await runCli(['verify', damaged, ...POLICY, '--report', file])
    assert.equal(r.status, 1)
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter(l => l.startsWith('airlock: error:')).length,
      1,
      r.stderr,
    )
    const md = readFileSync(file, 'utf8')
    assert.match(md, /VERIFICATION FAILED/)
    assert.match(md, /verification stopped: /)
    assert.deepEqual(
      readdirSync(dir).filter(n => n.includes('.partial-')),
      [],
    )
  })

  it('refuses a report name without a known extension in one line, before reading anything', async () => {
    const file = join(dir, 'report.pdf')
    const r = await runCli(['verify', signed, ...POLICY, '--report', file])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^airlock: error: --report .*report\.pdf: unknown report format "\.pdf"\n/)
    assert.doesNotMatch(r.stdout, /verified/)
    rmSync(file, {force: true})
    // A usage error judged nothing: no report claims a failed verification.
    const md = join(dir, 'usage.md')
    const u = await runCli(['verify', signed, '--report', md])
    assert.equal(u.status, 2)
    assert.match(u.stderr, /^airlock: error: no signature policy given$/m)
    assert.ok(!readdirSync(dir).some(n => n.includes('usage.md')))
  })

  it('a signer identity carrying markup renders as text (HTML in Chromium, and Markdown)', async () => {
    const evil = '<script>window.pwned=2</script>"><img src=x onerror=alert(1)>@evil.example'
    const report: VerifyReport = {
      archive: 'a.tar',
      ok: true,
      entries: 5,
      bytes: 100,
      blobs: 3,
      seconds: 0.1,
      problems: [],
      checks: [],
      images: [
        {
          reference: 'registry.example.test/app:1',
          digest: `sha256:${'a'.repeat(64)}`,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ok: true,
          platforms: [],
          omittedPlatforms: [],
          bytes: 100,
          checks: [
            {name: 'integrity', ok: true, reasons: []},
            {
              name: 'signatures',
              ok: true,
              reasons: [],
              details: {
                subjects: [
                  {
                    subjectDigest: `sha256:${'a'.repeat(64)}`,
                    results: [
                      {
                        ok: true,
                        kind: 'bundle',
                        role: 'signature',
                        source: 'referrer',
                        signer: {identity: evil, issuer: 'https://issuer.example/<b>', keyed: false},
                        tlog: [
                          {
                            logIndex: '42',
                            logId: 'x',
                            kind: 'hashedrekord',
                            integratedTime: '2026-01-01T00:00:00.000Z',
                          },
                        ],
                        checks: [{name: 'identity-policy', status: 'pass'}],
                        insecureIgnoreTlog: false,
                        warnings: [],
                      },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    }
    const evidence: VerifyEvidence = {
      // The forecast's shape (COMMON contract, src/trust/forecast.ts of issue 16 item 2) is rendered when present.
      report: {
        ...report,
        trust: {
          sources: [],
          graceSeconds: 2_592_000,
          forecast: {
            basis: 'tuf',
            strictUntil: '2026-12-09T00:00:00Z',
            graceUntil: '2027-01-08T00:00:00Z',
            limitedBy: 'timestamp v42',
            noExpiry: [],
            summary: 'verifies strictly until 2026-12-09, within the grace period until 2027-01-08',
          },
        },
      },
      archive: {path: 'a.tar', sha256: 'b'.repeat(64), size: 100},
      verifiedAt: '2026-12-02T00:00:00.000Z',
      host: 'gap-host',
      airlock: {version: '0.1.0'},
      policy: {kind: 'file', file: 'policy<x>.yaml', sha256: 'c'.repeat(64)},
      signaturesChecked: true,
      notes: [],
    }
    const file = join(dir, 'evil-signer.html')
    writeFileSync(file, renderHtml(verifyDocument(evidence)))
    const {view, requests, dialogs, errors} = await readReport(browser, file, 'verify-report-hostile-signer')
    assert.deepEqual(requests, [])
    assert.deepEqual(dialogs, [])
    assert.deepEqual(errors, [])
    assert.equal(view.scripts, 0)
    assert.equal(view.pwned, undefined)
    assert.equal(view.rows[0]?.signer, evil)
    assert.match(view.text, /Verifies strictly until\s+2026-12-09T00:00:00Z/)
    assert.match(view.text, /Within the grace period until\s+2027-01-08T00:00:00Z/)
    assert.match(view.text, /Limited by\s+timestamp v42/)
    const md = renderMarkdown(verifyDocument(evidence))
    assert.doesNotMatch(md, /<script|<img|<b>/)
    assert.ok(md.includes('&lt;script&gt;window.pwned=2&lt;/script&gt;'))
  })
})
