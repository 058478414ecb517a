import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../support/redis-server.js'
import { buildReadyApp } from '../support/app.js'
import type { HitReply, StatsReply } from '../../worker/src/schemas.js'

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
