import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../../harness/stack.js'
import { waitFor } from '../../harness/wait.js'
import { expectExact } from '../support/exact.js'
import { launchChromium } from '../support/browser.js'

// Scale out wide on a small machine: 3 -> 40 -> 3 workers under a light load
// (4 clients) through nginx, on 127.0.0.1 only. (The idle cost of a stack is
// the benchmark's to measure: npm run bench.)
const WIDE = 40
let stack: Stack

beforeAll(async () => { stack = await Stack.up(3) })
afterAll(async () => { await stack?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe(`${WIDE} workers on this machine`, () => {
  it(`scaled 3 -> ${WIDE} under load: no hit fails, and all ${WIDE} serve`, async () => {
    await stack.scaleTo(3)
    const before = await stack.stats()
    const load = stack.load(4)
    const started = Date.now()
    await stack.run('up', '-d', '--no-recreate', '--scale', `worker=${WIDE}`)
    const upMs = Date.now() - started
    const running = await stack.workerHostnames()
    expect(running).toHaveLength(WIDE)
    // The load's own hits tell when each new worker has served (extra hits would upset the count).
    await waitFor(`all ${WIDE} workers to serve`, async () => {
      const served = new Set(load.answers.map((answer) => answer.hostname))
      return running.every((host) => served.has(host))
    }, 90000, 100)
    const allServingMs = Date.now() - started
    const answers = await load.stop()
    console.log(`scale 3 -> ${WIDE}: 'up' returned after ${upMs} ms; all ${WIDE} had served a hit ${allServingMs} ms after it began`)
    expectExact(`scale 3 -> ${WIDE} under load`, { answers, before, after: await stack.stats() })
  })

  it(`the page at ${WIDE} workers: all in its table, the busiest drawn and the others as one band (what a /stats poll costs there: npm run bench)`, async () => {
    await stack.scaleTo(WIDE, 120000)
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
      await page.goto(stack.url)
      const loadMs = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd)
      console.log(`the page at ${WIDE} workers: shown after ${loadMs.toFixed(0)} ms`)
      // Each worker's row, from the page's first paint and its polls of /stats.
      await expect.poll(async () => await page.locator('#rates tbody tr.serving').count(), { timeout: 10000, interval: 250 }).toBe(WIDE)
      await expect.poll(async () => await page.locator('#chart polyline[data-worker]:not([display="none"])').count(), { timeout: 5000, interval: 250 }).toBe(11)
      expect(await page.locator('#chart-others').innerText()).toBe(`; the grey band: the other ${WIDE - 11} workers together`)
      await page.screenshot({ path: `test-results/live-view-${WIDE}-workers.png`, fullPage: true })
    } finally {
      await browser.close()
    }
  })

  it(`scaled ${WIDE} -> 3 under load: no hit fails, counted exactly, per worker too`, async () => {
    await stack.scaleTo(WIDE, 120000)
    const before = await stack.stats()
    const load = stack.load(4)
    await sleep(1000)
    await stack.run('up', '-d', '--no-recreate', '--scale', 'worker=3')
    await sleep(2000)
    const answers = await load.stop()
    expectExact(`scale ${WIDE} -> 3 under load`, { answers, before, after: await stack.stats() })
    expect(await stack.workerHostnames()).toHaveLength(3)
  })
})
