import { existsSync, readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer } from '../../harness/redis-server.js'
import { waitFor } from '../../harness/wait.js'
import { WorkerProcess } from '../support/worker-process.js'
import type { HitReply, StatsReply } from '../../worker/src/http/schemas.js'
import { TOTAL_KEY } from '../../worker/src/redis/keys.js'

// Two real worker processes whose clocks are 5 s behind and 5 s ahead of
// Redis's (libfaketime, from Debian's faketime package), on one real Redis:
// nothing may depend on their clocks agreeing with Redis's or with each other.
// Debian puts it under the machine's architecture: /usr/lib/<triplet>/faketime/.
const LIBFAKETIME = readdirSync('/usr/lib').map((dir) => `/usr/lib/${dir}/faketime/libfaketime.so.1`).find((file) => existsSync(file))
const SKEWS = [-5, 5]
const BUDGET_MS = 500
let redis: RedisServer
const workers = new Map<number, WorkerProcess>()

const redisNow = async (): Promise<number> => {
  const [seconds, micros] = await redis.client(async (client) => await client.time())
  return Number(seconds) * 1000 + Number(micros) / 1000
}
const total = async (): Promise<number> => Number(await redis.client(async (client) => await client.get(TOTAL_KEY)) ?? 0)
const hit = async (worker: WorkerProcess, id: string): Promise<{ status: number, body: HitReply }> => {
  const res = await fetch(`${worker.url}/`, { headers: { accept: 'application/json', 'x-request-id': id } })
  return { status: res.status, body: await res.json() as HitReply }
}

beforeAll(async () => {
  if (LIBFAKETIME === undefined) throw new Error('no /usr/lib/*/faketime/libfaketime.so.1: run the suite by scripts/test.sh, whose image has it, or install faketime')
  redis = await RedisServer.start()
  for (const skew of SKEWS) {
    workers.set(skew, await WorkerProcess.start({
      REDIS_URL: redis.url,
      HOSTNAME: `skewed${skew > 0 ? '-ahead' : '-behind'}`,
      REDIS_TIMEOUT_MS: String(BUDGET_MS),
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME: `${skew > 0 ? '+' : ''}${skew}s`
    }))
  }
})
afterAll(async () => {
  for (const worker of workers.values()) await worker.stop()
  await redis?.stop()
})

describe('workers whose clocks are 5 s off Redis\'s', () => {
  it.each(SKEWS)('the worker at %i s really runs on a shifted clock (its log lines\' times)', async (skew) => {
    const worker = workers.get(skew)!
    const id = `clock${skew}`
    const sent = Date.now()
    await fetch(`${worker.url}/no-such-page`, { headers: { 'x-request-id': id } })
    // Log lines go out in batches: wait for this request's.
    const line = (): Record<string, unknown> | undefined => worker.logLines().find((logged) => logged.reqId === id)
    await waitFor('the request\'s log line', async () => line() !== undefined)
    const seen = Date.now()
    // Written between the request and our reading it (the same machine's clock), only `skew` s off.
    const logged = Number(line()!.time) - skew * 1000
    expect(logged).toBeGreaterThanOrEqual(sent)
    expect(logged).toBeLessThanOrEqual(seen)
  })

  it('count every hit once, with one number each, whichever worker takes it or takes it again', async () => {
    const before = await total()
    const [behind, ahead] = SKEWS.map((skew) => workers.get(skew)!)
    const answers = []
    for (let i = 0; i < 20; i++) answers.push(await hit(i % 2 === 0 ? behind! : ahead!, `skew-${i}`))
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200))
    expect(answers.map((answer) => answer.body.hits)).toEqual(Array.from({ length: 20 }, (_, i) => before + i + 1))
    // nginx's retry of a hit on the other worker: the same number, counted once.
    expect(await hit(ahead!, 'skew-0')).toMatchObject({ status: 200, body: { hits: before + 1 } })
    expect(await total()).toBe(before + 20)
  })

  it.each(SKEWS)('at %i s: a hit stalled past its budget is answered 503, and never counted later', async (skew) => {
    const id = `stalled${skew}`
    const before = await total()
    const scripts = await redis.watchScripts()
    try {
      // Frozen, not paused (CLIENT PAUSE): a paused Redis drops the held call
      // when the worker gives up on its connection; a frozen one finds it unread in the socket.
      const stalled = await redis.frozenWhile(async () => await hit(workers.get(skew)!, id))
      expect(stalled.status).toBe(503)
      // Redis wakes and runs that hit's call, past its deadline on Redis's own clock.
      await scripts.ran(id)
      expect(await total()).toBe(before)
    } finally {
      scripts.stop()
    }
  })

  it.each(SKEWS)('at %i s: /stats gives Redis\'s time and sees both workers serving', async (skew) => {
    const asked = await redisNow()
    const res = await fetch(`${workers.get(skew)!.url}/stats`)
    const stats = await res.json() as StatsReply
    const answered = await redisNow()
    // Read on Redis's clock while it was asked (whole ms), not on the worker's, 5 s off.
    expect(stats.now).toBeGreaterThanOrEqual(Math.floor(asked))
    expect(stats.now).toBeLessThanOrEqual(answered)
    expect(Object.keys(stats.serving).sort()).toEqual(['skewed-ahead', 'skewed-behind'])
  })
})
