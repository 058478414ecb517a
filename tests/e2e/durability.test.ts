import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HIT_BUDGET_MS, Stack } from '../../harness/stack.js'
import type { HitOutcome } from '../../tools/hits.js'
import { waitFor } from '../../harness/wait.js'
import { expectCountedOnce } from '../support/exact.js'
import { RECONNECT_DELAY_MAX_MS } from '../../worker/src/redis/client.js'

// Redis killed, stopped, and the whole stack taken down, under load through
// nginx (8 clients): what was answered is what was counted. Redis's data is on
// the shipped volume on the real disk: durability is these tests' subject.
// Traffic goes to nginx's published port on 127.0.0.1 only.
const CLIENTS = 8
let stack: Stack

beforeAll(async () => { stack = await Stack.up(3, { durable: true }) })
afterAll(async () => { await stack?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('Redis and the whole stack going away', () => {
  it('Redis SIGKILLed under load and started again at once, 4 rounds: a hit fails only as a worker\'s 503 while Redis is away, every 200 counted once, all 200 again once it is back', async () => {
    await stack.scaleTo(3)
    const [redis] = await stack.containerIds('redis')
    for (let round = 1; round <= 4; round++) {
      const startedBefore = await stack.inspect(redis!, '{{.State.StartedAt}}')
      const before = await stack.stats()
      const load = stack.load(CLIENTS)
      await sleep(1500 + 250 * round)
      const from = Date.now()
      await stack.kill(redis!)
      await stack.run('start', 'redis')
      // Back once a worker reads /stats again (Redis has loaded its file).
      let why = ''
      await waitFor('/stats after the restart', async () => await stack.stats().then(() => true, (err: Error) => { why = err.message; return false }), 15000, 100)
        .catch(async (err: Error) => {
          // What Redis and the stack were doing, for whoever reads the failure.
          throw new Error(`${err.message} (last: ${why})\n${await stack.run('ps', '--all')}\n${await stack.run('logs', '--tail', '40', 'redis', 'worker')}`)
        })
      // Every worker tries again within RECONNECT_DELAY_MAX_MS; one more such wait for the attempt under way.
      const until = Date.now() + 2 * RECONNECT_DELAY_MAX_MS
      await sleep(2500)
      const answers = await load.stop()
      expect(await stack.inspect(redis!, '{{.State.StartedAt}}')).not.toBe(startedBefore)
      const { counted503 } = expectCountedOnce(`Redis SIGKILL round ${round}`, { answers, sentAt: load.sentAt, before, after: await stack.stats() }, { from, until })
      // A 503 that Redis counted is one it wrote before it was killed, and never confirmed: at most one per client in flight.
      expect(counted503).toBeLessThanOrEqual(CLIENTS)
    }
  })

  it('Redis stopped: every hit a 503 from a worker naming Redis, within its budget; the page\'s parts still served; Redis back: counting again', async () => {
    await stack.scaleTo(3)
    const workersBefore = await stack.lifetimes('worker')
    const totalBefore = (await stack.stats()).total
    const workers = await stack.workerHostnames()
    await stack.run('stop', 'redis')
    try {
      // The first hits wait out their budget for a Redis that may come back; once it has been away longer, 503 at once.
      const duringOutage = await stack.hits(40, 4)
      const slowest = Math.max(...duringOutage.map((answer) => answer.ms))
      const fastest = Math.min(...duringOutage.map((answer) => answer.ms))
      console.log(`Redis stopped: ${duringOutage.length} hits, statuses ${[...new Set(duringOutage.map((answer) => answer.status))].join(',')}, slowest ${slowest.toFixed(0)} ms, fastest ${fastest.toFixed(0)} ms`)
      expect(duringOutage.filter((answer) => answer.status !== 503)).toEqual([])
      // The worker's own 503 (X-Served-By names it), not nginx's "no worker": no worker was taken out of the pool.
      expect(duringOutage.filter((answer) => !workers.includes(answer.hostname))).toEqual([])
      const res = await fetch(stack.url)
      expect(await res.json()).toMatchObject({ statusCode: 503, message: 'counter unavailable: Redis is not reachable, try again shortly' })
      // One budget at most, never a second (nginx tries no other worker after a worker's 503); then at once: far below a budget.
      expect(slowest).toBeLessThan(1.5 * HIT_BUDGET_MS)
      expect(fastest).toBeLessThan(HIT_BUDGET_MS / 4)
      for (const path of ['/healthz', '/live.js', '/live.css', '/colours.css']) expect((await fetch(`${stack.url}${path}`)).status, path).toBe(200)
    } finally {
      await stack.run('start', 'redis')
    }

    // Each worker reconnects by itself (within about a second of Redis coming back).
    const recovery: HitOutcome[] = []
    const counting = (host: string): boolean => recovery.some((answer) => answer.status === 200 && answer.hostname === host)
    const msToRecover = await waitFor('every worker to count again', async () => {
      recovery.push(await stack.hit())
      return workers.every(counting)
    }, 15000, 20)
    console.log(`Redis started again: every worker counting again after ${msToRecover} ms`)
    // Nothing of the outage was counted; every hit answered 200 since was.
    expect((await stack.stats()).total).toBe(totalBefore + recovery.filter((answer) => answer.status === 200).length)
    expect(await stack.lifetimes('worker')).toEqual(workersBefore)
  })

  it('down and up again (volumes kept): the count continues where it was', async () => {
    const before = (await stack.stats()).total
    await stack.run('down', '--timeout', '10')
    await stack.run('up', '-d', '--scale', 'worker=3')
    await waitFor('/stats through nginx', async () => await fetch(`${stack.url}/stats`).then((res) => res.ok, () => false), 60000, 200)
    expect((await stack.stats()).total).toBe(before)
    const first = await stack.hit()
    console.log(`down/up: total ${before} before; the first hit after is number ${first.hits}`)
    expect(first.hits).toBe(before + 1)
  })
})
