import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import request from 'supertest'
import { RedisServer } from '../../harness/redis-server.js'
import { buildReadyApp } from '../support/app.js'

let redis: RedisServer
const apps: FastifyInstance[] = []

beforeAll(async () => {
  redis = await RedisServer.start()
  for (const hostname of ['worker-a', 'worker-b']) {
    const app = await buildReadyApp(redis.url, hostname)
    await app.listen({ host: '127.0.0.1', port: 0 })
    apps.push(app)
  }
})
afterAll(async () => {
  await Promise.all(apps.map(async (app) => await app.close()))
  await redis?.stop()
})

it('1000 concurrent hits over HTTP on two workers are each counted exactly once', async () => {
  const HITS = 1000
  const answers = await Promise.all(Array.from({ length: HITS }, async (_, i) => {
    const app = apps[i % apps.length]!
    return await request(app.server).get('/').set('accept', 'application/json')
  }))

  expect(answers.filter((res) => res.status !== 200).map((res) => res.status)).toEqual([])
  const numbers = answers.map((res) => (res.body as { hits: number }).hits).sort((a, b) => a - b)
  expect(numbers).toEqual(Array.from({ length: HITS }, (_, i) => i + 1))

  const stats = (await request(apps[0]!.server).get('/stats')).body as { total: number, workers: Record<string, number> }
  expect(stats.total).toBe(HITS)
  expect(stats.workers).toEqual({ 'worker-a': HITS / 2, 'worker-b': HITS / 2 })
})
