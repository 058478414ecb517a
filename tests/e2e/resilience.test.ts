import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../support/stack.js'
import type { HitOutcome } from '../../tools/hits.js'
import { waitFor } from '../support/wait.js'
import { expectCountedOnce, expectExact, type Run } from '../support/exact.js'

// Processes come and go, and Redis stalls, under a steady load through nginx
// (8 clients): no hit fails, and the counter equals the hits answered, exactly,
// per worker too. Traffic goes to nginx's published port on 127.0.0.1 only.
const CLIENTS = 8
let stack: Stack

beforeAll(async () => { stack = await Stack.up(5) })
afterAll(async () => { await stack?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Runs `change` while the load runs, with `settleMs` of load before and after it. */
async function underLoad (change: () => Promise<void>, settleMs = 2500): Promise<Run> {
  const before = await stack.stats()
  const load = stack.load(CLIENTS)
  await sleep(settleMs)
  await change()
  await sleep(settleMs)
  const answers = await load.stop()
  return { answers, before, after: await stack.stats() }
}

/** Pauses every Redis client for `ms` (Redis itself stays up: a stall, not an outage). */
async function stallRedis (ms: number): Promise<void> {
  await stack.run('exec', '-T', 'redis', 'redis-cli', 'CLIENT', 'PAUSE', String(ms), 'ALL')
}

describe('workers come and go under load with no failed hit', () => {
  it('scale down 5 -> 2: 0 failed hits, counted exactly, per worker too', async () => {
    await stack.scaleTo(5)
    const run = await underLoad(async () => { await stack.run('up', '-d', '--no-recreate', '--scale', 'worker=2') })
    expectExact('scale down 5 -> 2', run)
    expect(await stack.workerHostnames()).toHaveLength(2)
  })

  it('a worker killed (SIGKILL) under load: 0 failed hits, counted exactly, per worker too', async () => {
    await stack.scaleTo(3)
    const [victim] = await stack.containerIds('worker')
    const lifeBefore = await stack.inspect(victim!, '{{.State.StartedAt}} {{.State.Running}}')
    // Hits in flight on the killed worker may have been counted there: nginx
    // tries them again on another worker with the same id, which answers the
    // same number and takes the credit.
    const run = await underLoad(async () => { await stack.kill(victim!) })
    expectExact('kill -9 one of 3 workers', run)
    // It was killed: stopped, or started again by its restart policy.
    expect(await stack.inspect(victim!, '{{.State.StartedAt}} {{.State.Running}}')).not.toBe(lifeBefore)
  })

  it('rolling restart of every worker: 0 failed hits, counted exactly, all containers new', async () => {
    await stack.scaleTo(3)
    const oldWorkers = await stack.containerIds('worker')
    const run = await underLoad(async () => { await stack.script('scripts/rolling-restart.sh') })
    expectExact('rolling restart of 3 workers', run)
    const newWorkers = await stack.containerIds('worker')
    expect(newWorkers).toHaveLength(3)
    expect(newWorkers.filter((id) => oldWorkers.includes(id))).toEqual([])
  })
})

describe('Redis stalls are ridden out', () => {
  it.each([700, 1500])('Redis stalled %i ms during one hit: it waits, is answered 200 and counted once', async (ms) => {
    await stack.scaleTo(3)
    const before = await stack.stats()
    await stallRedis(ms)
    const answer = await stack.hit()
    const after = await stack.stats()
    console.log(`Redis stalled ${ms} ms: the hit answered ${answer.status} after ${answer.ms.toFixed(0)} ms; counter +${after.total - before.total}`)
    expect(answer.status).toBe(200)
    // The stall happened: the hit, sent a moment after the pause began, waited for its end.
    expect(answer.ms).toBeGreaterThan(ms / 2)
    expect(answer.hits).toBe(before.total + 1)
    expect(after.total).toBe(before.total + 1)
  })

  it('8 clients for 10 s, Redis stalled 0.8 s twice: 0 failed hits, counted exactly, per worker too', async () => {
    await stack.scaleTo(3)
    const run = await underLoad(async () => {
      await stallRedis(800)
      await sleep(3000)
      await stallRedis(800)
    }, 3000)
    expectExact('8 clients, Redis stalled 0.8 s twice', run)
    // The stalls happened: the hits in flight then waited for their end.
    expect(Math.max(...run.answers.map((answer) => answer.ms))).toBeGreaterThan(600)
  })
})

describe('Redis and the whole stack going away', () => {
  it('Redis SIGKILLed under load and started again at once, 4 rounds: every hit answered 200 counted once, every round; the 503s counted said', async () => {
    await stack.scaleTo(3)
    const [redis] = await stack.containerIds('redis')
    for (let round = 1; round <= 4; round++) {
      const startedBefore = await stack.inspect(redis!, '{{.State.StartedAt}}')
      const before = await stack.stats()
      const load = stack.load(CLIENTS)
      await sleep(1500 + 250 * round)
      await stack.kill(redis!)
      await stack.run('start', 'redis')
      await sleep(2500)
      const answers = await load.stop()
      // Read once Redis has loaded its file again.
      let after = before
      let why = ''
      await waitFor('/stats after the restart', async () => {
        after = await stack.stats().catch((err: Error) => { why = err.message; return before })
        return after !== before
      }, 15000, 100).catch(async (err: Error) => {
        // What Redis and the stack were doing, for whoever reads the failure.
        throw new Error(`${err.message} (last: ${why})\n${await stack.run('ps', '--all')}\n${await stack.run('logs', '--tail', '40', 'redis', 'worker')}`)
      })
      expect(await stack.inspect(redis!, '{{.State.StartedAt}}')).not.toBe(startedBefore)
      expectCountedOnce(`Redis SIGKILL round ${round}`, { answers, before, after })
    }
  })

  it('Redis stopped: every hit a 503 from a worker naming Redis, within its budget; the page\'s parts still served; Redis back: counting again', async () => {
    await stack.scaleTo(3)
    const workersBefore = await stack.lifetimes('worker')
    const totalBefore = (await stack.stats()).total
    const workers = await stack.workerHostnames()
    await stack.run('stop', 'redis')
    try {
      // The first hits wait out their budget (REDIS_TIMEOUT_MS, 2 s) for a Redis
      // that may come back; once it has been away longer, 503 at once.
      const duringOutage = await stack.hits(40, 4)
      const slowest = Math.max(...duringOutage.map((answer) => answer.ms))
      const fastest = Math.min(...duringOutage.map((answer) => answer.ms))
      console.log(`Redis stopped: ${duringOutage.length} hits, statuses ${[...new Set(duringOutage.map((answer) => answer.status))].join(',')}, slowest ${slowest.toFixed(0)} ms, fastest ${fastest.toFixed(0)} ms`)
      expect(duringOutage.filter((answer) => answer.status !== 503)).toEqual([])
      // The worker's own 503 (X-Served-By names it), not nginx's "no worker": no worker was taken out of the pool.
      expect(duringOutage.filter((answer) => !workers.includes(answer.hostname))).toEqual([])
      const res = await fetch(stack.url)
      expect(await res.json()).toMatchObject({ statusCode: 503, message: 'counter unavailable: Redis is not reachable, try again shortly' })
      expect(slowest).toBeLessThan(3000)
      expect(fastest).toBeLessThan(200)
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
