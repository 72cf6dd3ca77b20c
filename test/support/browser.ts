/// <reference lib="dom" />
// A real browser for report tests and the benchmark: Debian's Chromium (/usr/bin/chromium), headless, driven by
// puppeteer-core over CDP. Pages load from file:// with every request intercepted: the page itself is let through,
// anything else is recorded and refused, so a report that would fetch a script, font or image is caught.
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import puppeteer, {type Browser, type Page} from 'puppeteer-core'
import {ROOT} from './cli.ts'

export const CHROMIUM = '/usr/bin/chromium'
/** Screenshots and PDFs of test runs (gitignored). */
export const RESULTS_DIR = join(ROOT, 'test-results')

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: tests run as root in CI containers, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  })
}

export interface LoadedPage {
  page: Page
  /** Every request the page made other than the page itself (refused). */
  requests: string[]
  /** Console errors and uncaught exceptions (a script that ran would show here). */
  errors: string[]
  dialogs: string[]
  /** Milliseconds from navigation to the load event. */
  loadMs: number
}

/**
 * `observeOnly`: requests are recorded but not held (no CDP round trip per request, which slows a large page's load:
 * the benchmark's timing); tests keep the default, which refuses them too.
 */
export async function loadFile(
  browser: Browser,
  file: string,
  options: {observeOnly?: boolean} = {},
): Promise<LoadedPage> {
  const page = await browser.newPage()
  const url = pathToFileURL(file).href
  const requests: string[] = []
  const errors: string[] = []
  const dialogs: string[] = []
  if (!options.observeOnly) await page.setRequestInterception(true)
  page.on('request', request => {
    if (request.url() === url) {
      if (!options.observeOnly) void request.continue()
    } else {
      requests.push(request.url())
      if (!options.observeOnly) void request.abort('blockedbyclient')
    }
  })
  page.on('pageerror', error => errors.push(String(error)))
  page.on('dialog', dialog => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  const started = performance.now()
  await page.goto(url, {waitUntil: 'load'})
  const loadMs = performance.now() - started
  return {page, requests, errors, dialogs, loadMs}
}

/** Under print media at the printable width of A4 (210 mm less 2 x 12 mm margins), how far the page overflows. */
export async function a4Overflow(page: Page): Promise<number> {
  const width = Math.floor(((210 - 24) / 25.4) * 96)
  await page.setViewport({width, height: 1100})
  await page.emulateMediaType('print')
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  )
  await page.emulateMediaType(undefined)
  await page.setViewport({width: 800, height: 600})
  return overflow
}

/**
 * Saves a full-page screenshot and an A4 PDF print of the page; returns their paths. The screenshot is taken under
 * print media: on screen, sections far below the fold are laid out only when scrolled to (content-visibility),
 * which a single full-page capture would show blank; print lays out everything, as it is filed.
 */
export async function saveEvidence(page: Page, name: string): Promise<{screenshot: string; pdf: string}> {
  mkdirSync(RESULTS_DIR, {recursive: true})
  const screenshot = join(RESULTS_DIR, `${name}.png`)
  const pdf = join(RESULTS_DIR, `${name}.pdf`)
  await page.emulateMediaType('print')
  await page.screenshot({path: screenshot, fullPage: true})
  await page.emulateMediaType(undefined)
  await page.pdf({path: pdf, format: 'A4', preferCSSPageSize: true, printBackground: true})
  return {screenshot, pdf}
}
