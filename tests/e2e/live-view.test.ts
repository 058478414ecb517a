import { mkdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Stack } from '../support/stack.js'

// The live view in a real browser (Debian's Chromium, driven by playwright-core)
// against the real compose stack, through nginx on 127.0.0.1.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = 'test-results'

let stack: Stack
let browser: Browser
let page: Page

beforeAll(async () => {
  stack = await Stack.up(3)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root, and on a machine with no network but loopback: no sandbox, no background traffic.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  }).catch((err: Error) => {
    throw new Error(`cannot start Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium; CHROMIUM_PATH overrides): ${err.message}`)
  })
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
  await mkdir(ARTIFACTS, { recursive: true })
})
afterAll(async () => {
  await browser?.close()
  await stack?.down()
})

const serving = async (): Promise<string> => await page.getByTestId('serving').innerText()

/** Reloads the page `times` times, `pauseMs` apart, as a person would; the hostnames shown. */
async function reloads (times: number, pauseMs: number): Promise<string[]> {
  const shown: string[] = []
  await page.goto(stack.url)
  for (let i = 0; i < times; i++) {
    await page.waitForTimeout(pauseMs)
    await page.reload()
    shown.push(await page.getByTestId('hostname').innerText())
  }
  return shown
}

describe('refreshing the page, the workers take strict turns at any pace', () => {
  // The page's own requests (its script and style, and /stats every second)
  // run between refreshes; only hits may move the rotation.
  it.each([
    [3, 300], [3, 1000], [3, 1500], [3, 2500], [2, 1500]
  ])('%i workers, a reload every %i ms: any N reloads in a row show N different hosts', async (workers, pauseMs) => {
    const running = await stack.scaleTo(workers)
    const shown = await reloads(10, pauseMs)
    console.log(`${workers} workers, reload every ${pauseMs} ms: ${shown.map((host) => host.slice(0, 4)).join(' ')}`)
    expect([...new Set(shown)].sort()).toEqual(running)
    for (let i = 0; i + workers <= shown.length; i++) {
      expect(new Set(shown.slice(i, i + workers)).size, `reloads ${i + 1}..${i + workers}: ${shown.slice(i, i + workers).join(' ')}`).toBe(workers)
    }
  })
})

describe('the page in a browser', () => {
  it('shows the worker that served the hit and the hit\'s number, big', async () => {
    const workers = await stack.scaleTo(3)
    await page.goto(stack.url)
    expect(workers).toContain(await page.getByTestId('hostname').innerText())
    expect(Number(await page.getByTestId('hits').innerText())).toBeGreaterThan(0)
    // The banner takes the colour of the serving host, set by the page's own script.
    expect(await page.locator('#hit').evaluate((el) => (el as HTMLElement).style.backgroundColor)).toMatch(/^rgb/)
  })

  it('50 page loads through nginx each get the HTML page (the time is printed; timing goals belong to benchmarks)', async () => {
    const times: number[] = []
    for (let i = 0; i < 50; i++) {
      const started = performance.now()
      const res = await fetch(stack.url, { headers: { accept: 'text/html' } })
      const body = await res.text()
      times.push(performance.now() - started)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(body).toContain('<script src="/live.js" defer></script>')
    }
    times.sort((a, b) => a - b)
    console.log(`HTML page through nginx, 50 sequential loads: median ${times[25]!.toFixed(1)} ms, p95 ${times[47]!.toFixed(1)} ms, max ${times[49]!.toFixed(1)} ms`)
  })

  it('"keep hitting" shows all 3 workers serving, and each in the sequence of last hosts', async () => {
    await page.selectOption('#rate', '10')
    await page.getByRole('button', { name: 'Keep hitting' }).press('Enter')
    await expect.poll(serving, { timeout: 20000, interval: 250 }).toBe('3')
    await expect.poll(async () => await page.locator('#bars li.serving').count(), { timeout: 5000 }).toBe(3)
    const workers = await stack.workerHostnames()
    const hostsInSequence = async (): Promise<string[]> => [...new Set(await page.locator('#sequence li').allInnerTexts())].sort()
    await expect.poll(hostsInSequence, { timeout: 20000, interval: 250 }).toEqual(workers)
    await page.screenshot({ path: `${ARTIFACTS}/live-view.png`, fullPage: true })
  })

  it('scaled down to 1 worker, the other two fade out of the panel', async () => {
    const before = await stack.workerHostnames()
    const [staying] = await stack.scaleTo(1)
    await expect.poll(serving, { timeout: 30000, interval: 500 }).toBe('1')
    const gone = await page.locator('#bars li.gone').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.worker))
    expect(gone).toEqual(expect.arrayContaining(before.filter((host) => host !== staying)))
    expect(await page.locator('#status').innerText()).toBe('')
    await page.screenshot({ path: `${ARTIFACTS}/live-view-scaled-down.png`, fullPage: true })
  })
})
