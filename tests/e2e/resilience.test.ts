import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../../harness/stack.js'
import { expectExact, type Run } from '../support/exact.js'

// Processes come and go, and Redis stalls, under a steady load through nginx
// (8 clients): no hit fails, and the counter equals the hits answered, exactly,
// per worker too. Redis's data is on tmpfs here (durability.test.ts has the
// disk). Traffic goes to nginx's published port on 127.0.0.1 only.
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
  await stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'CLIENT', 'PAUSE', String(ms), 'ALL')
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
