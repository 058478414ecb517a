import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { RedisServer } from '../../harness/redis-server.js'
import { BROWSER_ACCEPT, buildReadyApp, startAppWithRedis } from '../support/app.js'
import { waitFor } from '../../harness/wait.js'
import type { HistoryReply, StatsReply } from '../../worker/src/http/schemas.js'
import { HISTORY_LAG_SECONDS, HISTORY_SECONDS } from '../../worker/src/live-view/history.js'
import { WORKER_COLOURS, WORKER_MARKS } from '../../worker/src/live-view/colours.js'
import { RATE_SECONDS } from '../../worker/src/live-view/page.js'
import { DEFAULT_SCALE_COMMAND } from '../../worker/src/config.js'
import { RECENT_HITS, TOTAL_KEY } from '../../worker/src/redis/keys.js'

let redis: RedisServer
let app: FastifyInstance
let stop: (() => Promise<void>) | undefined

beforeAll(async () => { ({ redis, app, stop } = await startAppWithRedis('worker-a')) })
afterAll(async () => { await stop?.() })
beforeEach(async () => { await redis.flush() })

const total = async (): Promise<number> => (await app.inject('/stats')).json<{ total: number }>().total

describe('GET / counts one hit and answers in the form asked for', () => {
  it('answers plain text by default, exactly as the original demo', async () => {
    const first = await app.inject('/')
    const second = await app.inject({ url: '/', headers: { accept: '*/*' } })
    expect(first.statusCode).toBe(200)
    expect(first.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(first.body).toBe('Hello World I am worker-a! 1 times.\n')
    expect(second.body).toBe('Hello World I am worker-a! 2 times.\n')
    expect(first.headers['x-served-by']).toBe('worker-a')
  })

  it('answers plain text to a client that asks for neither HTML nor JSON', async () => {
    const res = await app.inject({ url: '/', headers: { accept: 'image/png' } })
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe('Hello World I am worker-a! 1 times.\n')
  })

  it('answers a browser with an HTML page showing the hostname and the number', async () => {
    const res = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toMatch(/^<!doctype html>/)
    expect(res.body).toContain('<strong class="host" data-testid="hostname">worker-a</strong>')
    expect(res.body).toContain('<span data-testid="hits">1</span>')
  })

  it('answers JSON with this hit\'s number and this worker\'s own count', async () => {
    await app.inject('/')
    const res = await app.inject({ url: '/', headers: { accept: 'application/json' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ hostname: 'worker-a', hits: 2, workerHits: 2, colourSlot: 0 })
  })
})

describe('requests that must not count', () => {
  it('HEAD /, GET /favicon.ico, /stats and the health checks leave the counter alone', async () => {
    await app.inject('/')
    const head = await app.inject({ method: 'HEAD', url: '/' })
    const favicon = await app.inject('/favicon.ico')
    expect(head.statusCode).toBe(200)
    expect(head.body).toBe('')
    expect(favicon.statusCode).toBe(204)
    expect(favicon.headers['cache-control']).toMatch(/max-age=\d+/)
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' })
    expect(await total()).toBe(1)
    expect((await app.inject('/')).body).toBe('Hello World I am worker-a! 2 times.\n')
  })

  it('/stats gives the total, the hits per worker, the serving workers, their nodes and its time', async () => {
    const before = Date.now()
    for (let i = 0; i < 3; i++) await app.inject('/')
    const res = await app.inject('/stats')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-served-by']).toBe('worker-a')
    const stats = res.json<StatsReply>()
    expect(stats).toMatchObject({ total: 3, workers: { 'worker-a': 3 } })
    expect(Object.keys(stats)).toEqual(['total', 'workers', 'serving', 'nodes', 'now', 'recent'])
    expect(Object.keys(stats.nodes)).toEqual(Object.keys(stats.serving))
    expect(stats.now).toBeGreaterThanOrEqual(before)
    expect(stats.recent).toEqual([3, 2, 1].map((hits) => ({ hostname: 'worker-a', hits })))
  })

  it(`the recent hits are the last ${RECENT_HITS}, newest first, whoever sent them; a repeated try adds none`, async () => {
    for (let i = 0; i < RECENT_HITS + 5; i++) await app.inject({ url: '/', headers: { 'x-request-id': `recent-${i}` } })
    await app.inject({ url: '/', headers: { 'x-request-id': `recent-${RECENT_HITS + 4}` } })
    const { recent } = (await app.inject('/stats')).json<StatsReply>()
    expect(recent.map((hit) => hit.hits)).toEqual(Array.from({ length: RECENT_HITS }, (_, i) => RECENT_HITS + 5 - i))
  })

  it('a browser\'s page holds the recent hits (this one first) and the last minute per worker, from the server', async () => {
    // A worker of its own: what a worker has counted but not yet written to the history is its own, not another test's.
    const worker = await buildReadyApp(redis.url, 'worker-h')
    try {
      for (let i = 0; i < 4; i++) await worker.inject('/')
      const page = await worker.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } })
      const recent = /<ol id="recent"[^>]*data-testid="recent-hits"[^>]*>(.*?)<\/ol>/.exec(page.body)?.[1] ?? ''
      expect([...recent.matchAll(/<li class="[^"]*" data-hits="(\d+)"><span class="number">\1<\/span> <span class="host">worker-h<\/span><\/li>/g)].map((m) => Number(m[1]))).toEqual([5, 4, 3, 2, 1])
      const history = JSON.parse(/data-history="([^"]*)"/.exec(page.body)![1]!.replaceAll('&quot;', '"')) as HistoryReply
      expect(history.seconds).toHaveLength(HISTORY_SECONDS)
      // This second's hits are not in yet (the worker writes a second once it is over); once they are, all 5, none twice.
      const counted = (seconds: HistoryReply['seconds']): number => seconds.reduce((sum, second) => sum + (second['worker-h'] ?? 0), 0)
      expect(counted(history.seconds)).toBeLessThanOrEqual(4)
      let later = 0
      await waitFor('the 5 hits in the history', async () => (later = counted((await worker.liveView.history()).seconds)) >= 5, (HISTORY_LAG_SECONDS + 2) * 1000, 100)
      expect(later).toBe(5)
    } finally {
      await worker.close()
    }
  })

  it('the page\'s hint says how this deployment scales (SCALE_COMMAND; Compose\'s by default), escaped', async () => {
    const hint = (body: string): string => /<p class="hint">.*?<code>(.*?)<\/code>/s.exec(body)?.[1] ?? ''
    expect(hint((await app.inject({ url: '/', headers: { accept: 'text/html' } })).body)).toBe(DEFAULT_SCALE_COMMAND)
    const swarm = await buildReadyApp(redis.url, 'worker-s', { SCALE_COMMAND: 'docker service scale hitcounter_worker=12 <&>' })
    try {
      expect(hint((await swarm.inject({ url: '/', headers: { accept: 'text/html' } })).body)).toBe('docker service scale hitcounter_worker=12 &lt;&amp;&gt;')
    } finally {
      await swarm.close()
    }
  })

  it('serves the live view\'s script and style, and the page allows only those', async () => {
    const page = await app.inject({ url: '/', headers: { accept: 'text/html' } })
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.body).toContain('<script src="/live.js" defer></script>')
    const script = await app.inject('/live.js')
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.body).toContain("fetch('/stats'")
    const style = await app.inject('/live.css')
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8')
    expect(await total()).toBe(1)
  })
})

describe('the workers\' colours', () => {
  it('/colours.css has one class per colour, the page links it and tells its script how many there are, and how many seconds a rate spans', async () => {
    const css = await app.inject('/colours.css')
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    WORKER_COLOURS.forEach((colour, slot) => { expect(css.body).toContain(`.slot-${slot} { --worker: ${colour}; }`) })
    const page = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } })
    expect(page.body).toContain(`<html lang="en" data-colours="${WORKER_COLOURS.length}" data-marks="${WORKER_MARKS.length}" data-rate-seconds="${RATE_SECONDS}">`)
    expect(page.body).toContain(`<th scope="col">hits/s, last ${RATE_SECONDS} s</th>`)
    expect(page.body).toContain('<link rel="stylesheet" href="/colours.css">')
  })
})

describe('bad requests get a clear JSON error and count nothing', () => {
  it('an unknown path is a 404 with a one-line message', async () => {
    const res = await app.inject('/nope')
    expect(res.statusCode).toBe(404)
    expect(res.headers['x-served-by']).toBe('worker-a')
    expect(res.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'no route for GET /nope' })
  })

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)('%s / is a 405 with Allow', async (method) => {
    const res = await app.inject({ method, url: '/', headers: { 'content-type': 'application/x-unknown' }, payload: 'x=1' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD')
    expect(res.json()).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' })
    expect(await total()).toBe(0)
  })

  it.each([
    ['an unknown path', 'GET', '/nope', 404, 'no route for GET /nope'],
    ['POST /', 'POST', '/', 405, 'POST is not allowed on /; use GET, HEAD']
  ] as const)('%s asked by a browser: the same error as a page of the demo, which does not reload itself', async (_what, method, url, status, message) => {
    const res = await app.inject({ method, url, headers: { accept: BROWSER_ACCEPT } })
    expect(res.statusCode).toBe(status)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['retry-after']).toBeUndefined()
    expect(res.body).toMatch(/^<!doctype html>/)
    expect(res.body).toContain(`<p data-testid="error-message">${message}</p>`)
    expect(res.body).not.toContain('http-equiv="refresh"')
  })

  it('an error Redis replies with is a 500 saying only "internal error"', async () => {
    await redis.client(async (client) => await client.hset(TOTAL_KEY, 'not', 'a counter'))
    const res = await app.inject('/')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' })
  })
})
