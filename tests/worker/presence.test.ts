import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../../harness/redis-server.js'
import { buildReadyApp } from '../support/app.js'
import type { HitReply, StatsReply } from '../../worker/src/http/schemas.js'
import { EARLIER_WORKERS, PER_WORKER_KEY, SEEN_KEY, TOTAL_KEY } from '../../worker/src/redis/keys.js'
import { DEFAULT_FOLD_AFTER_MS, FOLD_MIN_MS } from '../../worker/src/config.js'

// Which workers serve now, and their colours, as the live view reads them.
let redis: RedisServer
const apps: FastifyInstance[] = []

beforeAll(async () => { redis = await RedisServer.start() })
afterAll(async () => {
  await Promise.all(apps.map(async (app) => await app.close()))
  await redis?.stop()
})

const stats = async (app: FastifyInstance): Promise<StatsReply> => (await app.inject('/stats')).json()
const colourOf = async (app: FastifyInstance): Promise<number | null> =>
  (await app.inject({ url: '/', headers: { accept: 'application/json' } })).json<HitReply>().colourSlot

it('each worker is serving from its start, with a colour slot of its own; one that drains leaves at once and its slot is reused', async () => {
  for (const name of ['worker-a', 'worker-b', 'worker-c']) apps.push(await buildReadyApp(redis.url, name))
  const [a, b, c] = apps as [FastifyInstance, FastifyInstance, FastifyInstance]
  expect((await stats(a)).serving).toEqual({ 'worker-a': 0, 'worker-b': 1, 'worker-c': 2 })
  expect([await colourOf(a), await colourOf(b), await colourOf(c)]).toEqual([0, 1, 2])

  await b.close()
  apps.splice(1, 1)
  expect((await stats(a)).serving).toEqual({ 'worker-a': 0, 'worker-c': 2 })

  const d = await buildReadyApp(redis.url, 'worker-d')
  apps.push(d)
  expect((await stats(a)).serving).toEqual({ 'worker-a': 0, 'worker-c': 2, 'worker-d': 1 })
  expect(await colourOf(d)).toBe(1)
})

it.each([DEFAULT_FOLD_AFTER_MS, FOLD_MIN_MS])('a worker gone longer than FOLD_AFTER_MS (%i ms) has its count folded into "earlier workers" at the next beat; the total is still the sum', async (FOLD_AFTER_MS) => {
  await redis.flush()
  const now = await redis.client(async (client) => { const [s, us] = await client.time(); return Number(s) * 1000 + Math.floor(Number(us) / 1000) })
  await redis.client(async (client) => {
    await client.multi()
      .set(TOTAL_KEY, '12')
      .hset(PER_WORKER_KEY, { 'gone-long-ago': 5, 'also-gone': 2, 'gone-lately': 4, 'from-an-older-version': 1 })
      .zadd(SEEN_KEY, now - FOLD_AFTER_MS - 60000, 'gone-long-ago', now - FOLD_AFTER_MS - 1, 'also-gone', now - FOLD_AFTER_MS + 60000, 'gone-lately')
      .exec()
  })
  // A worker starting beats at once.
  const fresh = await buildReadyApp(redis.url, 'worker-f', { FOLD_AFTER_MS })
  try {
    const after = await stats(fresh)
    expect(after.workers).toEqual({ [EARLIER_WORKERS]: 7, 'gone-lately': 4, 'from-an-older-version': 1 })
    expect(after.total).toBe(Object.values(after.workers).reduce((sum, n) => sum + n, 0))
    // Its count moves on as before, and the entry stays one.
    await fresh.inject('/')
    expect((await stats(fresh)).workers).toEqual({ [EARLIER_WORKERS]: 7, 'gone-lately': 4, 'from-an-older-version': 1, 'worker-f': 1 })
    // The worker counted before workers were seen is now seen (its hour starts now), the folded ones no more.
    const seen = await redis.client(async (client) => await client.zrange(SEEN_KEY, '0', '-1'))
    expect(seen.filter((name) => name !== EARLIER_WORKERS).sort()).toEqual(['from-an-older-version', 'gone-lately', 'worker-f'])
  } finally {
    await fresh.close()
  }
})
