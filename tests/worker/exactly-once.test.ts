import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../../harness/redis-server.js'
import { buildApp } from '../../worker/src/app.js'
import { buildReadyApp } from '../support/app.js'
import { MAX_HITS_PER_CALL } from '../../worker/src/counter/plugin.js'
import { ID_WINDOW_SECONDS, idWindowKey } from '../../worker/src/counter/id-windows.js'
import { PER_WORKER_KEY, TOTAL_KEY } from '../../worker/src/redis/keys.js'
import type { HitReply, StatsReply } from '../../worker/src/http/schemas.js'

// Two workers on one real Redis, as nginx sees them: every try of one hit
// carries the same X-Request-Id, and it must be counted once.
let redis: RedisServer
let a: FastifyInstance
let b: FastifyInstance

beforeAll(async () => {
  redis = await RedisServer.start()
  a = await buildReadyApp(redis.url, 'worker-a')
  b = await buildReadyApp(redis.url, 'worker-b')
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await redis?.stop()
})
beforeEach(async () => { await redis.flush() })

const hit = async (app: FastifyInstance, id?: string): Promise<{ status: number, body: HitReply }> => {
  const res = await app.inject({ url: '/', headers: { accept: 'application/json', ...(id === undefined ? {} : { 'x-request-id': id }) } })
  return { status: res.statusCode, body: res.json() }
}
const stats = async (): Promise<StatsReply> => (await a.inject('/stats')).json()

describe('a hit is counted once by its id, whichever worker is asked and how often', () => {
  it('tried on one worker, then again on another: the same number, counted once, credited to the second', async () => {
    const first = await hit(a, 'hit-1')
    const again = await hit(b, 'hit-1')
    expect(first).toMatchObject({ status: 200, body: { hostname: 'worker-a', hits: 1, workerHits: 1 } })
    expect(again).toMatchObject({ status: 200, body: { hostname: 'worker-b', hits: 1, workerHits: 1 } })
    expect(await stats()).toMatchObject({ total: 1, workers: { 'worker-a': 0, 'worker-b': 1 } })
  })

  it('the same worker asked twice: the same answer, counted once', async () => {
    expect((await hit(a, 'hit-2')).body.hits).toBe(1)
    expect((await hit(a, 'hit-2')).body).toMatchObject({ hostname: 'worker-a', hits: 1, workerHits: 1 })
    expect((await stats()).total).toBe(1)
  })

  it('tried on both workers at once: one number for both, the total equals the sum per worker', async () => {
    const answers = await Promise.all([hit(a, 'hit-3'), hit(b, 'hit-3'), hit(a, 'hit-4'), hit(b, 'hit-4')])
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200])
    expect(answers[0]!.body.hits).toBe(answers[1]!.body.hits)
    expect(answers[2]!.body.hits).toBe(answers[3]!.body.hits)
    const after = await stats()
    expect(after.total).toBe(2)
    expect(Object.values(after.workers).reduce((sum, n) => sum + n, 0)).toBe(2)
  })

  it('the same id twice in one turn (one batch): one number for both, counted once', async () => {
    const [first, second] = await Promise.all([hit(a, 'hit-8'), hit(a, 'hit-8')])
    expect(first).toMatchObject({ status: 200, body: { hits: 1, workerHits: 1 } })
    expect(second).toMatchObject({ status: 200, body: { hits: 1, workerHits: 1 } })
    expect(await stats()).toMatchObject({ total: 1, workers: { 'worker-a': 1 } })
  })

  it('hits without an id (a worker asked directly) each get an id of their own', async () => {
    await hit(a)
    await hit(a)
    expect((await stats()).total).toBe(2)
  })

  it('an id is remembered in its window\'s hash, which goes after four windows', async () => {
    await hit(a, 'hit-5')
    const windows = await redis.client(async (client) => {
      const keys = await client.keys(idWindowKey(0).replace(/\d+$/, '*'))
      return await Promise.all(keys.map(async (key) => ({ key, id: await client.hget(key, 'hit-5'), ttl: await client.ttl(key) })))
    })
    expect(windows).toHaveLength(1)
    expect(windows[0]!.id).toBe('1 worker-a')
    expect(windows[0]!.ttl).toBeGreaterThan(0)
    expect(windows[0]!.ttl).toBeGreaterThan(3 * ID_WINDOW_SECONDS)
    expect(windows[0]!.ttl).toBeLessThanOrEqual(4 * ID_WINDOW_SECONDS)
  })

  // Two windows back: nginx's retries and a worker's budget; one ahead: a
  // primary (before a failover) whose clock was ahead of this one's.
  it.each([-2, -1, 1])('a try finds the id counted %i windows from now, and credits the worker answering now', async (windows) => {
    // As if worker-a had counted hit 7 then, and nginx now tries it on worker-b.
    await redis.client(async (client) => {
      const [seconds] = await client.time()
      await client.multi().set(TOTAL_KEY, 7).hset(PER_WORKER_KEY, 'worker-a', 7)
        .hset(idWindowKey(Number(seconds) + windows * ID_WINDOW_SECONDS), 'hit-9', '7 worker-a').exec()
    })
    expect(await hit(b, 'hit-9')).toMatchObject({ status: 200, body: { hostname: 'worker-b', hits: 7, workerHits: 1 } })
    expect(await stats()).toMatchObject({ total: 7, workers: { 'worker-a': 6, 'worker-b': 1 } })
  })
})

describe('Redis stalled past a worker\'s timeout (REDIS_TIMEOUT_MS=500 here)', () => {
  it('the worker answers 503 and its stalled count never lands; the retry on another worker counts the hit once', async () => {
    const scripts = await redis.watchScripts()
    try {
      // Frozen, not paused (CLIENT PAUSE): a paused Redis drops the held call
      // when the worker gives up on its connection; a frozen one finds it unread in the socket.
      // Two hits in one batch: the whole batch is refused, neither is counted.
      const stalled = await redis.frozenWhile(async () => await Promise.all([hit(a, 'hit-6'), hit(a, 'hit-6b')]))
      expect(stalled.map((answer) => answer.status)).toEqual([503, 503])
      // Redis wakes and runs the stalled script, one call for both: past its deadline, it counts nothing.
      expect(await scripts.ran('hit-6')).toContain('hit-6b')
      expect((await stats()).total).toBe(0)
    } finally {
      scripts.stop()
    }
    const retried = await hit(b, 'hit-6')
    expect(retried).toMatchObject({ status: 200, body: { hostname: 'worker-b', hits: 1, workerHits: 1 } })
    expect(await stats()).toMatchObject({ total: 1, workers: { 'worker-b': 1 } })
  })

  it('the first read of Redis\'s clock stalled: it takes from the budget, so the script\'s deadline is never past the budget\'s end', async () => {
    // A worker that has not read Redis's clock yet (just started), Redis
    // stalled for most of a hit's budget: the clock is read late, and a
    // deadline counted from that read would outlive the budget.
    const BUDGET_MS = 500
    const scripts = await redis.watchScripts()
    await redis.client(async (client) => await client.call('CLIENT', 'PAUSE', String(BUDGET_MS - 100), 'ALL'))
    const fresh = await buildApp({ REDIS_URL: redis.url, HOSTNAME: 'worker-fresh', LOG_LEVEL: 'silent', REDIS_TIMEOUT_MS: BUDGET_MS })
    try {
      const sent = Date.now()
      const answer = await hit(fresh, 'first-hit')
      // The counting script's arguments: the command, the script, 3, its three keys (the total first), the worker, the deadline.
      const call = await scripts.ran('first-hit')
      expect(call[3]).toBe(TOTAL_KEY)
      expect(scripts.carrying('first-hit')).toHaveLength(1)
      // Redis runs on this machine's clock: Date.now() reads the same one.
      expect(Number(call[7]) - sent).toBeLessThanOrEqual(BUDGET_MS)
      // Counted if and only if answered 200.
      expect([200, 503]).toContain(answer.status)
      expect((await stats()).total).toBe(answer.status === 200 ? 1 : 0)
    } finally {
      scripts.stop()
      await fresh.close()
    }
  })

  it('a stall shorter than the timeout is waited out: 200, counted once', async () => {
    await redis.client(async (client) => await client.call('CLIENT', 'PAUSE', '300', 'ALL'))
    expect(await hit(a, 'hit-7')).toMatchObject({ status: 200, body: { hostname: 'worker-a', hits: 1, workerHits: 1 } })
    expect((await stats()).total).toBe(1)
  })
})

describe('the hits a worker reads in one turn of its event loop', () => {
  // INCRBY runs once per script call that counts new hits, and nowhere else.
  const countCalls = async (): Promise<number> => await redis.client(async (client) =>
    Number(/cmdstat_incrby:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0))

  it('go to Redis together, at most MAX_HITS_PER_CALL to a call, each with a number of its own in the order they came', async () => {
    const HITS = MAX_HITS_PER_CALL + 36
    const before = await countCalls()
    // inject starts every request on the next tick: all are read in this turn.
    const answers = await Promise.all(Array.from({ length: HITS }, async (_, i) => await hit(a, `turn-${i}`)))
    expect(await countCalls() - before).toBe(2)
    expect(answers.map((answer) => answer.body.hits)).toEqual(Array.from({ length: HITS }, (_, i) => i + 1))
    expect(answers.map((answer) => answer.body.workerHits)).toEqual(Array.from({ length: HITS }, (_, i) => i + 1))
    expect(await stats()).toMatchObject({ total: HITS, workers: { 'worker-a': HITS } })
  })
})
