import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../../harness/redis-server.js'
import { ReplyDroppingProxy } from '../support/reply-dropping-proxy.js'
import { buildReadyApp } from '../support/app.js'
import { waitFor } from '../../harness/wait.js'
import { parseSamples, total, type Sample } from '../support/prometheus.js'
import { UNMATCHED_ROUTE } from '../../worker/src/metrics/plugin.js'
import type { StatsReply } from '../../worker/src/http/schemas.js'

// Two workers on one real Redis, and a third whose Redis connection can lose a
// reply: what each says at /metrics must add up to the counter, exactly.
let redis: RedisServer
let proxy: ReplyDroppingProxy
let a: FastifyInstance
let b: FastifyInstance
let c: FastifyInstance

beforeAll(async () => {
  redis = await RedisServer.start()
  proxy = await ReplyDroppingProxy.start(redis.port)
  a = await buildReadyApp(redis.url, 'worker-a')
  b = await buildReadyApp(redis.url, 'worker-b')
  c = await buildReadyApp(proxy.url, 'worker-c', { REDIS_TIMEOUT_MS: 2000 })
})
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()])
  await proxy?.stop()
  await redis?.stop()
})
beforeEach(async () => { await redis.flush() })

const hit = async (app: FastifyInstance, id: string): Promise<number> =>
  (await app.inject({ url: '/', headers: { 'x-request-id': id } })).statusCode
const counter = async (): Promise<StatsReply> => (await a.inject('/stats')).json()
const scrape = async (app: FastifyInstance): Promise<Sample[]> => {
  const res = await app.inject('/metrics')
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseSamples(res.body)
}
/** hitcounter_hits_total on each worker, by hostname. */
const hitsCounted = async (): Promise<Record<string, number>> => Object.fromEntries(await Promise.all(
  [a, b, c].map(async (app, i) => [`worker-${'abc'[i]!}`, total(await scrape(app), 'hitcounter_hits_total')] as const)))
const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((all, n) => all + n, 0)

describe('/metrics: what the workers counted adds up to the counter', () => {
  it('hits on several workers, tries repeated by id on another worker and on the same one, and a batch: the sum moves by the total\'s move', async () => {
    const before = sum(await hitsCounted())
    expect(await hit(a, 'm-1')).toBe(200)
    expect(await hit(b, 'm-1')).toBe(200) // nginx tried it again elsewhere: counted by a, once
    expect(await hit(a, 'm-2')).toBe(200)
    expect(await hit(a, 'm-2')).toBe(200)
    const batch = await Promise.all(Array.from({ length: 20 }, async (_, i) => await hit(b, `m-batch-${i % 15}`)))
    expect(batch.every((status) => status === 200)).toBe(true)
    const after = await hitsCounted()
    expect((await counter()).total).toBe(17)
    expect(sum(after) - before).toBe(17)
  })

  it('a try whose reply was lost after Redis ran it is tried again, and its hit reported once, by the worker that counted it', async () => {
    expect(await hit(c, 'warm-up')).toBe(200) // the script is loaded: the lost reply is the count's, not a NOSCRIPT
    const before = (await hitsCounted())['worker-c']!
    const totalBefore = (await counter()).total
    proxy.dropReplyTo('lost-reply-hit')
    expect(await hit(c, 'lost-reply-hit')).toBe(200)
    expect(proxy.dropped).toBe(1)
    const counted = (await counter()).total - totalBefore
    expect(counted).toBe(1)
    expect((await hitsCounted())['worker-c']! - before).toBe(1)

    // The same id twice in the batch whose reply is lost: still one hit, reported once.
    proxy.dropReplyTo('lost-twice')
    expect(await Promise.all([hit(c, 'lost-twice'), hit(c, 'lost-twice')])).toEqual([200, 200])
    expect(proxy.dropped).toBe(2)
    expect((await counter()).total - totalBefore).toBe(2)
    expect((await hitsCounted())['worker-c']! - before).toBe(2)
  })

  it('a hit Redis cannot count in time: 503, no hit reported, and the failure counted by its kind', async () => {
    const errors = async (): Promise<number> => total(await scrape(a), 'hitcounter_redis_errors_total', { call: 'count_hits', kind: 'timeout' })
    const [hitsBefore, errorsBefore] = [(await hitsCounted())['worker-a']!, await errors()]
    const scripts = await redis.watchScripts()
    try {
      // Frozen, not paused (CLIENT PAUSE): a paused Redis drops the held call
      // when the worker gives up on its connection; a frozen one finds it unread in the socket.
      const stalled = await redis.frozenWhile(async () => {
        const status = await hit(a, 'stalled')
        // Held until the call has timed out: thawed sooner, Redis's refusal could come back first ("late").
        await waitFor('the worker to count its call\'s timeout', async () => await errors() === errorsBefore + 1)
        return status
      })
      expect(stalled).toBe(503)
      // Redis wakes and runs that hit's call, past its deadline: nothing counted, nothing reported.
      await scripts.ran('stalled')
    } finally {
      scripts.stop()
    }
    expect((await counter()).total).toBe(0)
    expect((await hitsCounted())['worker-a']).toBe(hitsBefore)
    expect(await errors()).toBe(errorsBefore + 1)
  })
})

describe('/metrics: what else it says, with bounded labels', () => {
  it('requests by route pattern, method and status: an unknown URL is one label value, never the URL', async () => {
    await a.inject('/no/such/page?id=12345')
    await a.inject({ method: 'DELETE', url: '/' })
    await hit(a, 'labels-1')
    const res = await a.inject('/metrics')
    expect(res.body).not.toContain('/no/such/page')
    expect(res.body).not.toContain('labels-1')
    const samples = parseSamples(res.body)
    const requests = (labels: Record<string, string>): number => total(samples, 'hitcounter_http_request_duration_seconds_count', labels)
    expect(requests({ route: UNMATCHED_ROUTE, method: 'GET', status_code: '404' })).toBeGreaterThanOrEqual(1)
    expect(requests({ route: '/', method: 'DELETE', status_code: '405' })).toBeGreaterThanOrEqual(1)
    expect(requests({ route: '/', method: 'GET', status_code: '200' })).toBeGreaterThanOrEqual(1)
    // Every series carries the worker's name (the page's) and its node, and the routes are the app's own patterns.
    expect(samples.every((sample) => sample.labels.worker === 'worker-a' && sample.labels.node === 'local')).toBe(true)
    const routed = samples.filter((sample) => sample.labels.route !== undefined && sample.labels.route !== UNMATCHED_ROUTE)
    expect(routed.length).toBeGreaterThan(0)
    for (const { labels } of routed) expect(a.hasRoute({ url: labels.route!, method: labels.method as 'GET' })).toBe(true)
  })

  it('Redis calls timed by what they were for, and hits per call', async () => {
    await Promise.all(Array.from({ length: 8 }, async (_, i) => await hit(a, `per-call-${i}`)))
    await a.inject('/stats')
    const samples = await scrape(a)
    expect(total(samples, 'hitcounter_redis_call_duration_seconds_count', { call: 'count_hits' })).toBeGreaterThanOrEqual(1)
    expect(total(samples, 'hitcounter_redis_call_duration_seconds_count', { call: 'stats' })).toBeGreaterThanOrEqual(1)
    // The 8 hits of one turn went in one call: a call of 8 is in the bucket "up to 8", not "up to 4".
    const calls = (le: string): number => total(samples, 'hitcounter_hits_per_call_bucket', { le })
    expect(calls('8') - calls('4')).toBeGreaterThanOrEqual(1)
  })

  it('a scrape is not a hit: it moves no count', async () => {
    await hit(a, 'before-scrapes')
    for (let i = 0; i < 3; i++) await scrape(a)
    expect((await counter()).total).toBe(1)
  })
})
