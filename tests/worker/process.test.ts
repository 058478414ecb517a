import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer } from '../../harness/redis-server.js'
import { WorkerProcess } from '../support/worker-process.js'
import { ReplyDroppingProxy } from '../support/reply-dropping-proxy.js'
import { waitFor } from '../../harness/wait.js'
import { BROWSER_ACCEPT } from '../support/app.js'
import { parseSamples, total } from '../support/prometheus.js'
import { RETRY_AFTER_SECONDS } from '../../worker/src/http/errors.js'
import { RETRY_PAUSE_MS } from '../../worker/src/counter/batch.js'

/** REDIS_TIMEOUT_MS of the workers whose timing is checked: how long a hit may wait for Redis. */
const BUDGET_MS = 500

let redis: RedisServer
beforeAll(async () => { redis = await RedisServer.start() })
afterAll(async () => { await redis?.stop() })

describe('bad configuration stops the worker at start with a line naming the variable', () => {
  it.each([
    ['PORT', 'notaport'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://redis:6379'],
    ['LOG_LEVEL', 'loud'],
    ['HOSTNAME', 'bad host<'],
    ['REDIS_TIMEOUT_MS', '-1'],
    ['SCALE_COMMAND', ''],
    ['FOLD_AFTER_MS', '60000']
  ])('%s=%s', async (name, value) => {
    const worker = WorkerProcess.spawn({ REDIS_URL: redis.url, [name]: value })
    const { code } = await worker.exited
    expect(code).toBe(2)
    const lines = worker.output.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^hitcounter worker: invalid configuration: ${name} .*\\(got "${value.replace(/[<]/g, '\\$&')}"\\)$`))
  })
})

describe('the running worker', () => {
  it('logs one JSON line per request with the hostname and nginx\'s request id', async () => {
    const worker = await WorkerProcess.start({ REDIS_URL: redis.url, HOSTNAME: 'logging-worker' })
    await fetch(`${worker.url}/`, { headers: { 'x-request-id': 'rid-123' } })
    expect(await worker.stop()).toEqual({ code: 0, signal: null })
    const requestLines = worker.logLines().filter((line) => line.msg === 'request')
    expect(requestLines.filter((line) => line.url === '/')).toEqual([
      expect.objectContaining({ hostname: 'logging-worker', reqId: 'rid-123', method: 'GET', statusCode: 200 })
    ])
  })

  it('serves the process\'s own metrics at /metrics (CPU, memory, event-loop lag, GC), and logs no line for a scrape', async () => {
    const worker = await WorkerProcess.start({ REDIS_URL: redis.url, HOSTNAME: 'scraped-worker' })
    try {
      await fetch(`${worker.url}/`)
      const samples = parseSamples(await (await fetch(`${worker.url}/metrics`)).text())
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'hitcounter_hits_total']) {
        expect(samples.find((sample) => sample.name === name), name).toMatchObject({ labels: { worker: 'scraped-worker' } })
      }
      expect(total(samples, 'hitcounter_hits_total')).toBe(1)
    } finally {
      await worker.stop()
    }
    // The hit's line is there (the log was flushed), the scrape's is not.
    expect(worker.logLines().filter((line) => line.msg === 'request').map((line) => line.url)).toEqual(['/'])
  })

  it('waits out a short outage, answers 503 at once in a long one, stays up, and recovers by itself', async () => {
    const worker = await WorkerProcess.start({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(BUDGET_MS) })
    const timed = async (): Promise<{ res: Response, ms: number }> => {
      const started = performance.now()
      const res = await fetch(`${worker.url}/`)
      return { res, ms: performance.now() - started }
    }
    try {
      expect((await fetch(`${worker.url}/`)).status).toBe(200)
      await redis.stop()

      // Redis away for less than a hit may wait: the hit waits its whole budget for it, then 503.
      const first = await timed()
      expect(first.res.status).toBe(503)
      expect(await first.res.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'counter unavailable: Redis is not reachable, try again shortly' })
      // Its whole budget: at most a retry pause short of it (twice that, for the timers' coarse clock), and not a second budget more.
      expect(first.ms).toBeGreaterThanOrEqual(BUDGET_MS - 2 * RETRY_PAUSE_MS)
      expect(first.ms).toBeLessThan(2 * BUDGET_MS)
      // Away for longer than that: no use waiting, so well under the budget a waiting hit takes.
      const later = await timed()
      expect(later.res.status).toBe(503)
      expect(later.ms).toBeLessThan(BUDGET_MS / 2)
      expect(later.res.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS))
      // A browser gets the demo's error page, which names the cause and loads the hit page again by itself.
      const page = await fetch(`${worker.url}/`, { headers: { accept: BROWSER_ACCEPT } })
      expect(page.status).toBe(503)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await page.text()
      expect(html).toContain('Redis is not reachable')
      expect(html).toContain(`<meta http-equiv="refresh" content="${RETRY_AFTER_SECONDS}">`)
      expect((await fetch(`${worker.url}/readyz`)).status).toBe(503)
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200)

      await redis.resume()
      const msToRecover = await waitFor('the worker to count again', async () => (await fetch(`${worker.url}/`)).status === 200, 5000, 20)
      console.log(`Redis outage: first 503 after ${first.ms.toFixed(0)} ms, then after ${later.ms.toFixed(1)} ms; counting again ${msToRecover} ms after Redis came back`)
      expect(worker.child.exitCode).toBeNull()
      expect(worker.output).not.toMatch(/Unhandled|uncaught/i)
    } finally {
      await redis.resume()
      await worker.stop()
    }
  })

  it('a Redis restarted within a hit\'s budget costs no hit', async () => {
    const worker = await WorkerProcess.start({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '3000' })
    try {
      expect((await fetch(`${worker.url}/`)).status).toBe(200)
      await redis.stop()
      const started = performance.now()
      const waiting = fetch(`${worker.url}/`)
      await new Promise((resolve) => setTimeout(resolve, 300)) // Redis away for 300 ms
      await redis.resume()
      const answer = await waiting
      expect(answer.status).toBe(200)
      // It waited for Redis to come back (it cannot be counted before).
      expect(performance.now() - started).toBeGreaterThanOrEqual(300)
    } finally {
      await worker.stop()
    }
  })

  it('answers 503 within the command timeout while Redis hangs', async () => {
    const worker = await WorkerProcess.start({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(BUDGET_MS) })
    try {
      await redis.client(async (client) => await client.call('CLIENT', 'PAUSE', String(3 * BUDGET_MS), 'ALL'))
      const started = performance.now()
      const hung = await fetch(`${worker.url}/`)
      const msTo503 = performance.now() - started
      console.log(`Redis hung: 503 after ${msTo503.toFixed(0)} ms (REDIS_TIMEOUT_MS=${BUDGET_MS})`)
      expect(hung.status).toBe(503)
      // At its budget's end, not a second budget later, and far from the 3 budgets a hit that waited for Redis would take.
      expect(msTo503).toBeLessThan(2 * BUDGET_MS)
    } finally {
      await redis.client(async (client) => await client.call('CLIENT', 'UNPAUSE'))
      await worker.stop()
    }
  })

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    // REDIS_TIMEOUT_MS above the pause, so the paused hit waits instead of failing.
    // Through a proxy, which tells when the hit's script call has gone to Redis.
    const proxy = await ReplyDroppingProxy.start(redis.port)
    const worker = await WorkerProcess.start({ REDIS_URL: proxy.url, REDIS_TIMEOUT_MS: '3000' })
    await redis.client(async (client) => await client.call('CLIENT', 'PAUSE', '800', 'ALL'))
    const waitingOnRedis = proxy.passed('sigterm-in-flight')
    const inFlight = fetch(`${worker.url}/`, { headers: { 'x-request-id': 'sigterm-in-flight' } })
    await waitingOnRedis
    worker.child.kill('SIGTERM')

    const answer = await inFlight
    expect(answer.status).toBe(200)
    expect(await answer.text()).toMatch(/^Hello World I am .+! \d+ times\.\n$/)
    expect(await worker.exited).toEqual({ code: 0, signal: null })
    expect(worker.logLines().map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down: draining requests', 'shut down']))
    await proxy.stop()
  })
})
