import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { startAppWithRedis } from '../support/app.js'
import { waitFor } from '../../harness/wait.js'

// ioredis can give up on its connection for good ("end"): seen in the swarm lab
// when a sentinel announced a new primary while the client was still looking
// for one. The redis plugin connects again on "end" (unless the app is
// closing); without that, the worker would answer 503 until it is restarted.
// The race itself is not made here: the client is ended by hand, the way out is the same.
let app: FastifyInstance
let stop: (() => Promise<void>) | undefined

beforeAll(async () => { ({ app, stop } = await startAppWithRedis('worker-e')) })
afterAll(async () => { await stop?.() })

it('a client that ended for good connects again by itself, and the worker counts again', async () => {
  app.redis.disconnect()
  await waitFor('the client to end', async () => app.redis.status === 'end', 2000, 10)
  await waitFor('the worker to reach Redis again', async () => (await app.inject('/readyz')).statusCode === 200, 5000, 50)
  expect((await app.inject({ url: '/', headers: { accept: 'application/json' } })).statusCode).toBe(200)
})
