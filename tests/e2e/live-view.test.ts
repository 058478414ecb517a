import { mkdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { HIT_BUDGET_MS, Stack } from '../../harness/stack.js'
import { launchChromium } from '../support/browser.js'
import { firstRepeat } from '../../tools/verdict.js'
import { waitFor } from '../../harness/wait.js'

// The live view in a real browser (Debian's Chromium, driven by playwright-core)
// against the real compose stack, through nginx on 127.0.0.1.
const ARTIFACTS = 'test-results'

let stack: Stack
let browser: Browser
let page: Page

beforeAll(async () => {
  stack = await Stack.up(3)
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
  await mkdir(ARTIFACTS, { recursive: true })
})
afterAll(async () => {
  await browser?.close()
  await stack?.down()
})

const serving = async (): Promise<string> => await page.getByTestId('serving').innerText()
const bannerColour = async (): Promise<string> => await page.locator('#hit').evaluate((el) => getComputedStyle(el).backgroundColor)
const rowColour = async (host: string): Promise<string> =>
  await page.locator(`#rates tr[data-worker="${host}"] .swatch`).evaluate((el) => getComputedStyle(el).backgroundColor)

/** The rates table: [worker, hits/s now] for each row. */
async function rates (): Promise<Array<[string, number]>> {
  return await page.locator('#rates tbody tr').evaluateAll((rows) => rows.map((row) =>
    [(row as HTMLElement).dataset.worker!, Number(row.querySelector('td')!.textContent)] as [string, number]))
}

/** The workers whose rate is above zero now, sorted. */
const hostsWithHits = async (): Promise<string[]> => (await rates()).filter(([, rate]) => rate > 0).map(([host]) => host).sort()

/**
 * The rule for "clearly different": any two serving workers' colours are at
 * least 100 apart as RGB points (0-255 each); two greens like #047857 and
 * #3f6212 are 93 apart and would fail.
 */
const FAR_APART = 100
/** How far apart two computed colours (`rgb(r, g, b)`) are, as points in RGB space. */
function colourDistance (a: string, b: string): number {
  const rgb = (colour: string): number[] => colour.match(/\d+/g)!.map(Number)
  return Math.hypot(...rgb(a).map((v, k) => v - rgb(b)[k]!))
}

async function expectDistinctColours (workers: string[]): Promise<void> {
  const colours = await Promise.all(workers.map(async (host) => await rowColour(host)))
  for (let i = 0; i < colours.length; i++) {
    for (let j = i + 1; j < colours.length; j++) {
      expect(colourDistance(colours[i]!, colours[j]!), `${workers[i]} ${colours[i]} vs ${workers[j]} ${colours[j]}`).toBeGreaterThanOrEqual(FAR_APART)
    }
  }
}

/** A fresh page with `workers` serving and "Keep hitting" on (pressed by keyboard) at `rate` hits/s, until every worker shows a rate. */
async function keepHitting (workers: number, rate = '10'): Promise<string[]> {
  const running = await stack.scaleTo(workers)
  await page.goto(stack.url)
  await page.selectOption('#rate', rate)
  const toggle = page.getByRole('button', { name: 'Keep hitting' })
  await toggle.press('Enter')
  expect(await page.locator('#keep-hitting').getAttribute('aria-pressed')).toBe('true')
  await expect.poll(serving, { timeout: 5000, interval: 250 }).toBe(String(workers))
  await expect.poll(hostsWithHits, { timeout: 10000, interval: 250 }).toEqual(running)
  return running
}

/** Reloads the page `times` times, `pauseMs` apart, as a person would; the hostname and hit number each showed. */
async function reloads (times: number, pauseMs: number): Promise<Array<[string, number]>> {
  const shown: Array<[string, number]> = []
  await page.goto(stack.url)
  for (let i = 0; i < times; i++) {
    await page.waitForTimeout(pauseMs)
    await page.reload()
    shown.push([await page.getByTestId('hostname').innerText(), Number(await page.getByTestId('hits').innerText())])
  }
  return shown
}

describe('refreshing the page, the workers take strict turns at any pace', () => {
  // The page's own requests (its script and style, and /stats every second)
  // run between refreshes; only hits may move the rotation.
  // (3 workers, a reload every 1.5 s: in 'the page tells the story' below.)
  it.each([
    [3, 300], [3, 1000], [3, 2500], [2, 1500]
  ])('%i workers, a reload every %i ms: any N reloads in a row show N different hosts', async (workers, pauseMs) => {
    const running = await stack.scaleTo(workers)
    const shown = (await reloads(10, pauseMs)).map(([host]) => host)
    console.log(`${workers} workers, reload every ${pauseMs} ms: ${shown.map((host) => host.slice(0, 4)).join(' ')}`)
    expect([...new Set(shown)].sort()).toEqual(running)
    expect(firstRepeat(shown, workers), `reloads: ${shown.join(' ')}`).toBe(-1)
  })
})

/** The recent-hits list as the page shows it: [hostname, hit number], newest first. */
async function recentHits (): Promise<Array<[string, number]>> {
  return await page.getByTestId('recent-hits').locator('li').evaluateAll((items) => items.map((item) =>
    [item.querySelector('.host')?.textContent ?? '', Number(item.querySelector('.number')?.textContent)] as [string, number]))
}

/** The highest point any worker's line reaches in the chart, in hits/s of its scale (0: all flat). */
const chartPeak = async (): Promise<number> => await page.locator('#chart polyline').evaluateAll((lines) =>
  Math.max(0, ...lines.flatMap((line) => (line.getAttribute('points') ?? '').split(' ').map((point) => 200 - Number(point.split(',')[1] ?? 200)))))

describe('the page tells the story, whoever hits', () => {
  it('3 workers, 10 reloads 1.5 s apart: any 3 in a row show 3 different hosts; the recent hits list the last 8 in order; the chart, and every worker\'s hits/s on first paint, show their rates', async () => {
    const running = await stack.scaleTo(3)
    const shown = await reloads(10, 1500)
    const hosts = shown.map(([host]) => host)
    console.log(`3 workers, reload every 1500 ms: ${hosts.map((host) => host.slice(0, 4)).join(' ')}`)
    expect([...new Set(hosts)].sort()).toEqual(running)
    expect(firstRepeat(hosts, 3), `reloads: ${hosts.join(' ')}`).toBe(-1)
    // On first paint after the last reload, rendered by the worker: no poll has run yet.
    expect((await recentHits()).slice(0, 8)).toEqual(shown.slice(-8).reverse())
    expect(await chartPeak()).toBeGreaterThan(0)
    // Averaged over RATE_SECONDS (page.ts), not one second: none reads 0 at a person's pace.
    expect(await hostsWithHits()).toEqual(running)
    await page.screenshot({ path: `${ARTIFACTS}/live-view-after-8-reloads.png`, fullPage: true })
  })

  it('hits sent from outside the page (curl, the balance check) appear in its list within 2 s', async () => {
    await stack.scaleTo(3)
    await page.goto(stack.url)
    const sent = await stack.hits(3, 1)
    const expected = sent.map((answer): [string, number] => [answer.hostname, answer.hits]).reverse()
    await expect.poll(async () => (await recentHits()).slice(0, 3), { timeout: 2000, interval: 100 }).toEqual(expected)
  })

  it('Redis stopped while the page hits: it says so within a hit\'s budget and a poll, and shows no worker counting; Redis back: it recovers by itself within 3 s', async () => {
    await keepHitting(3, '5')
    await stack.run('stop', 'redis')
    try {
      // The page's /stats read waits out the worker's budget for a Redis that may come back, then 503: it polls every second (live.js POLL_MS).
      await expect.poll(async () => await page.getByTestId('trouble').innerText(), { timeout: HIT_BUDGET_MS + 1000, interval: 100 })
        .toBe('Redis is not reachable: hits are not being counted.')
      await expect.poll(serving, { timeout: 2000, interval: 100 }).toBe('0')
      await expect.poll(hostsWithHits, { timeout: 3000, interval: 100 }).toEqual([])
    } finally {
      await stack.run('start', 'redis')
    }
    await expect.poll(async () => await page.getByTestId('trouble').isHidden(), { timeout: 3000, interval: 100 }).toBe(true)
    await expect.poll(serving, { timeout: 3000, interval: 100 }).toBe('3')
  })

  it('a reload while Redis is down shows the demo\'s error page, which turns into the hit page by itself once Redis is back', async () => {
    await stack.scaleTo(3)
    await page.goto(stack.url)
    await stack.run('stop', 'redis')
    try {
      const answer = await page.reload()
      expect(answer?.status()).toBe(503)
      expect(await page.getByTestId('error-message').innerText()).toBe('counter unavailable: Redis is not reachable, try again shortly')
      await page.screenshot({ path: `${ARTIFACTS}/live-view-redis-down.png`, fullPage: true })
    } finally {
      await stack.run('start', 'redis')
    }
    await expect.poll(async () => await page.getByTestId('hostname').count(), { timeout: 10000, interval: 200 }).toBe(1)
    expect(await stack.workerHostnames()).toContain(await page.getByTestId('hostname').innerText())
  })
})

describe('the page in a browser', () => {
  it('shows the worker that served the hit and its number, in its colour; the panel counts the serving workers from the first second', async () => {
    const workers = await stack.scaleTo(3)
    await page.goto(stack.url)
    const shown = await page.getByTestId('hostname').innerText()
    expect(workers).toContain(shown)
    expect(Number(await page.getByTestId('hits').innerText())).toBeGreaterThan(0)
    await expect.poll(serving, { timeout: 1500, interval: 100 }).toBe('3')
    // The banner wears the same colour as the serving worker's row.
    await expect.poll(async () => await bannerColour(), { timeout: 1500 }).toBe(await rowColour(shown))
  })

  it('opened while hits flow: each worker\'s row shows its hits/s on first paint, before the page has read /stats', async () => {
    const workers = await stack.scaleTo(3)
    const load = stack.load(2)
    // No poll: every /stats read fails, so the rates can only be the first paint's.
    await page.route('**/stats', async (route) => { await route.abort() })
    try {
      await waitFor('the load to reach each worker', async () => workers.every((host) => load.answers.some((answer) => answer.hostname === host)), 10000, 50)
      // The first paint's rates are the whole seconds each worker has written, up to two
      // seconds before now (HistoryReplySchema): three seconds on, each worker has one.
      await page.waitForTimeout(3000)
      await page.goto(stack.url)
      expect(await hostsWithHits()).toEqual(workers)
    } finally {
      await page.unroute('**/stats')
      await load.stop()
    }
  })

  it('"keep hitting" (by keyboard): 3 workers serving at a rate, each in the sequence, in clearly different colours', async () => {
    const workers = await keepHitting(3)
    const hostsInSequence = async (): Promise<string[]> => [...new Set((await recentHits()).map(([host]) => host))].sort()
    await expect.poll(hostsInSequence, { timeout: 10000, interval: 250 }).toEqual(workers)
    await expectDistinctColours(workers)
    // While hits arrive every 0.1 s, the banner's colour is always its worker's.
    for (let i = 0; i < 10; i++) {
      const [host, colour] = await page.locator('#hit').evaluate((el) =>
        [el.querySelector('[data-testid="hostname"]')!.textContent, getComputedStyle(el).backgroundColor])
      expect(colour).toBe(await rowColour(host!))
    }
  })

  it('passes a contrast check: every text on the page, the serving workers\' colours included, is at least 4.5:1 (WCAG AA)', async () => {
    await keepHitting(3)
    const lowest = await page.evaluate(() => {
      const rgb = (colour: string): number[] => colour.match(/[\d.]+/g)!.map(Number)
      const luminance = (colour: string): number => {
        const [r, g, b] = rgb(colour).slice(0, 3).map((v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4 })
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
      }
      const background = (el: Element | null): string => {
        for (let at = el; at !== null; at = at.parentElement) {
          const colour = getComputedStyle(at).backgroundColor
          if ((rgb(colour)[3] ?? 1) > 0) return colour
        }
        return 'rgb(255, 255, 255)'
      }
      // Every element with text of its own; rows of workers that left are fading out on purpose.
      const texts = [...document.querySelectorAll('body *')].filter((el) =>
        [...el.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent!.trim() !== '') && el.closest('.gone') === null)
      return texts.map((el) => {
        const [light, dark] = [luminance(getComputedStyle(el).color), luminance(background(el))].sort((a, b) => b - a)
        return { text: el.textContent!.trim().slice(0, 30), ratio: (light! + 0.05) / (dark! + 0.05) }
      }).sort((a, b) => a.ratio - b.ratio)[0]!
    })
    console.log(`lowest contrast on the page: ${lowest.ratio.toFixed(2)}:1 ("${lowest.text}")`)
    expect(lowest.ratio).toBeGreaterThanOrEqual(4.5)
  })

  it('scaled 3 -> 5 while hitting: the two new workers join, each with hits/s above 0, in colours of their own', async () => {
    await keepHitting(3)
    const workers = await stack.scaleTo(5)
    await expect.poll(serving, { timeout: 10000, interval: 250 }).toBe('5')
    await expect.poll(hostsWithHits, { timeout: 10000, interval: 250 }).toEqual(workers)
    await expectDistinctColours(workers)
    // docs/live-view.png is copied from it.
    await page.screenshot({ path: `${ARTIFACTS}/live-view.png`, fullPage: true })
  })

  it('12 workers while hitting: any two differ in colour, or, where the colours run out, in mark and line', async () => {
    await keepHitting(12, '20')
    const looks = await page.locator('#rates tbody tr.serving').evaluateAll((rows) => rows.map((row) => {
      const name = (row as HTMLElement).dataset.worker!
      return {
        name,
        colour: getComputedStyle(row.querySelector('.swatch')!).backgroundColor,
        mark: getComputedStyle(row.querySelector('th')!, '::before').content,
        dashes: getComputedStyle(document.querySelector(`#chart polyline[data-worker="${name}"]`)!).strokeDasharray
      }
    }))
    expect(looks).toHaveLength(12)
    for (const [i, a] of looks.entries()) {
      for (const b of looks.slice(i + 1)) {
        const far = colourDistance(a.colour, b.colour) >= FAR_APART
        expect(far || (a.mark !== b.mark && a.dashes !== b.dashes), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(true)
      }
    }
    await page.screenshot({ path: `${ARTIFACTS}/live-view-12-workers.png`, fullPage: true })
  })

  it('scaled down to 1 worker while hitting: the others drop to zero, fade, and leave the panel', async () => {
    await keepHitting(3)
    const [staying] = await stack.scaleTo(1)
    await expect.poll(serving, { timeout: 10000, interval: 250 }).toBe('1')
    await expect.poll(async () => await page.locator('#rates tr.gone').count(), { timeout: 5000, interval: 100 }).toBeGreaterThan(0)
    await page.screenshot({ path: `${ARTIFACTS}/live-view-scaled-down.png`, fullPage: true })
    await expect.poll(async () => (await rates()).map(([host]) => host), { timeout: 15000, interval: 250 }).toEqual([staying])
    expect(await page.locator('#chart polyline[data-worker]').count()).toBe(1)
    expect(await page.locator('#status').innerText()).toBe('')
  })
})
