import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../../harness/redis-server.js'
import { buildReadyApp } from '../support/app.js'
import { waitFor } from '../../harness/wait.js'
import { Sentinel } from '../support/sentinel.js'
import type { HitReply } from '../../worker/src/http/schemas.js'
import { TOTAL_KEY } from '../../worker/src/redis/keys.js'

// A real primary, two real replicas and a real Redis Sentinel watching them, as
// in the Swarm stack (there three sentinels): the worker finds the primary
// through the sentinel, and goes on counting, every hit once, when the primary
// is killed and the sentinel promotes a replica (the other follows it at once). REDIS_MIN_REPLICAS=1, as there:
// with 0, a try of this test answered 17,360 hits and the new primary held
// 12,952 (what the old one took in after the replica left it was lost).
const NAME = 'hitcounter'
let primary: RedisServer
let replicas: RedisServer[]
let sentinel: Sentinel
let app: FastifyInstance

const askSentinel = async (...args: string[]): Promise<unknown> => await sentinel.ask('SENTINEL', ...args)
const primaryPort = async (): Promise<number> => Number(((await askSentinel('get-master-addr-by-name', NAME)) as string[])[1])
const hit = async (id: string): Promise<{ status: number, body: HitReply, ms: number }> => {
  const started = performance.now()
  const res = await app.inject({ url: '/', headers: { accept: 'application/json', 'x-request-id': id } })
  return { status: res.statusCode, body: res.json(), ms: performance.now() - started }
}

beforeAll(async () => {
  primary = await RedisServer.start(['--repl-diskless-sync-delay', '0'])
  replicas = await Promise.all([0, 1].map(async () => await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port), '--repl-diskless-sync-delay', '0'])))
  await waitFor('the replicas to follow', async () =>
    /slave1:.*state=online/.test(await primary.client(async (client) => await client.info('replication'))), 10000, 50)
  sentinel = await Sentinel.start(NAME, primary.port)
  await waitFor('the sentinel to see the replicas', async () =>
    ((await askSentinel('replicas', NAME).catch(() => [])) as unknown[]).length === 2, 10000, 100)
  app = await buildReadyApp('redis://unused:6379', 'worker-s', { REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_MIN_REPLICAS: 1, REDIS_TIMEOUT_MS: 5000 })
})
afterAll(async () => {
  await app?.close()
  await sentinel?.kill()
  for (const replica of replicas ?? []) await replica.stop()
  await primary?.stop()
})

describe('Redis through Sentinel', () => {
  it('counts on the primary the sentinel names; the primary killed under load, it waits out the failover and every hit answered 200 is on the new primary', async () => {
    expect(await primaryPort()).toBe(primary.port)
    const first = await hit('before-failover')
    expect(first).toMatchObject({ status: 200, body: { hits: 1 } })

    const answers: Array<Awaited<ReturnType<typeof hit>>> = []
    const load = { running: true }
    const clients = Promise.all(Array.from({ length: 4 }, async (_, client) => {
      for (let i = 0; load.running; i++) answers.push(await hit(`load-${client}-${i}`))
    }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await primary.stop()
    const killed = performance.now()
    await waitFor('the sentinel to name a replica', async () => await primaryPort() !== primary.port, 10000, 50)
    const failoverMs = performance.now() - killed
    const newPort = await primaryPort()
    const promoted = replicas.find((replica) => replica.port === newPort)!
    await new Promise((resolve) => setTimeout(resolve, 1000))
    load.running = false
    await clients

    const numbers = answers.map((answer) => answer.body.hits)
    console.log(`primary killed under load: failover in ${failoverMs.toFixed(0)} ms; ${answers.length} hits, statuses ${[...new Set(answers.map((answer) => answer.status))].join(',')}, ` +
      `slowest ${Math.max(...answers.map((answer) => answer.ms)).toFixed(0)} ms`)
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(new Set(numbers).size).toBe(numbers.length)
    // The count lives on: the new primary holds every hit, the one before the failover too.
    expect(Number(await promoted.client(async (client) => await client.get(TOTAL_KEY)))).toBe(answers.length + 1)
  })
})
