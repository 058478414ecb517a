import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { RedisServer } from '../../harness/redis-server.js'
import { buildReadyApp } from '../support/app.js'
import { ReplyDroppingProxy } from '../support/reply-dropping-proxy.js'
import { parseSamples, total as sampleTotal } from '../support/prometheus.js'
import { waitFor } from '../../harness/wait.js'
import { deadlineMarginMs } from '../../worker/src/counter/batch.js'
import { TOTAL_KEY } from '../../worker/src/redis/keys.js'
import type { HitReply } from '../../worker/src/http/schemas.js'

// A primary with a real replica, configured as the Swarm stack's (a write needs
// a replica that answered within the last second), and a worker that answers a
// hit only once a replica holds its count (REDIS_MIN_REPLICAS=1); a second
// such worker reaches the primary through a proxy that can lose a reply.
const BUDGET_MS = 1000
let primary: RedisServer
let replica: RedisServer
let proxy: ReplyDroppingProxy
let app: FastifyInstance
let proxied: FastifyInstance

const total = async (server: RedisServer): Promise<number> => Number(await server.client(async (client) => await client.get(TOTAL_KEY)) ?? 0)
const replicaLinked = async (): Promise<void> => {
  await waitFor('the replica to follow the primary', async () =>
    /slave0:.*state=online/.test(await primary.client(async (client) => await client.info('replication'))), 10000, 50)
}
const hit = async (id: string, worker = app): Promise<{ status: number, body: HitReply, ms: number }> => {
  const started = performance.now()
  const res = await worker.inject({ url: '/', headers: { accept: 'application/json', 'x-request-id': id } })
  return { status: res.statusCode, body: res.json(), ms: performance.now() - started }
}

beforeAll(async () => {
  primary = await RedisServer.start(['--min-replicas-to-write', '1', '--min-replicas-max-lag', '1', '--repl-diskless-sync-delay', '0'])
  replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port)])
  await replicaLinked()
  app = await buildReadyApp(primary.url, 'worker-r', { REDIS_MIN_REPLICAS: 1, REDIS_TIMEOUT_MS: BUDGET_MS })
  proxy = await ReplyDroppingProxy.start(primary.port)
  proxied = await buildReadyApp(proxy.url, 'worker-p', { REDIS_MIN_REPLICAS: 1, REDIS_TIMEOUT_MS: BUDGET_MS })
})
afterAll(async () => {
  await Promise.all([app?.close(), proxied?.close()])
  await proxy?.stop()
  await replica?.stop()
  await primary?.stop()
})

describe('a hit is answered 200 only once a replica holds its count', () => {
  it('WAIT\'s reply lost with its connection, after the script\'s came: tried again, 200, counted once and reported once', async () => {
    const reported = async (): Promise<number> => sampleTotal(parseSamples((await proxied.inject('/metrics')).body), 'hitcounter_hits_total')
    expect((await hit('wait-warm-up', proxied)).status).toBe(200) // the script is loaded: the next command after it is WAIT
    const [before, reportedBefore] = [await total(primary), await reported()]
    // WAIT is the only command here that carries these bytes ("$4\r\nwait", as ioredis sends it).
    proxy.dropReplyTo('$4\r\nwait')
    const answer = await hit('wait-lost', proxied)
    expect(proxy.dropped).toBe(1)
    expect(answer).toMatchObject({ status: 200, body: { hits: before + 1 } })
    expect(await total(primary)).toBe(before + 1)
    expect(await reported() - reportedBefore).toBe(1)
  })

  it('the replica frozen for 300 ms: the hit waits for it, then 200, and the replica has it', async () => {
    // The primary counts a replica as there while it acknowledged within the
    // last second (by Redis's whole-second clock); it acknowledges once a
    // second, so a replica frozen 300 ms at the wrong moment would be taken for
    // gone. WAIT asks it to acknowledge now: its 300 ms start from a fresh one.
    await primary.client(async (client) => await client.call('WAIT', '1', '1000'))
    await replica.freeze()
    const thawed = new Promise((resolve) => setTimeout(resolve, 300)).then(() => { replica.thaw() })
    const answer = await hit('held-1')
    await thawed
    console.log(`replica frozen 300 ms: the hit answered ${answer.status} after ${answer.ms.toFixed(0)} ms`)
    expect(answer.status).toBe(200)
    expect(answer.ms).toBeGreaterThan(200)
    expect(await total(replica)).toBeGreaterThanOrEqual(answer.body.hits)
  })

  it('the replica silent past the budget: 503; the count stays on the primary, once: a retry of the hit gets its number', async () => {
    const before = await total(primary)
    await replica.freeze()
    const unconfirmed = await hit('held-2')
    replica.thaw()
    expect(unconfirmed.status).toBe(503)
    await replicaLinked()
    const retried = await hit('held-2')
    expect(retried).toMatchObject({ status: 200, body: { hits: before + 1 } })
    expect(await total(primary)).toBe(before + 1)
  })

  it('no replica at all: the primary refuses the write, the hit is answered 503 and not counted; the replica back: 200', async () => {
    await replica.stop()
    const before = await total(primary)
    const refused = await hit('held-3')
    console.log(`no replica: the hit answered ${refused.status} after ${refused.ms.toFixed(0)} ms`)
    expect(refused.status).toBe(503)
    // Tried again until Redis would refuse the script (its deadline, before the budget's end).
    expect(refused.ms).toBeGreaterThanOrEqual(BUDGET_MS - deadlineMarginMs(BUDGET_MS) - 50)
    expect(await total(primary)).toBe(before)
    await replica.resume()
    await replicaLinked()
    expect(await hit('held-3')).toMatchObject({ status: 200, body: { hits: before + 1 } })
  })
})
