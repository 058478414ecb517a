import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../support/stack.js'
import type { HitOutcome as Hit, Load } from '../../tools/hits.js'
import { waitFor } from '../support/wait.js'

// Processes come and go under a steady load through nginx (8 clients), and no
// hit fails. Traffic goes to nginx's published port on 127.0.0.1 only.
const CLIENTS = 8
let stack: Stack

beforeAll(async () => { stack = await Stack.up(5) })
afterAll(async () => { await stack?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const failed = (answers: Hit[]): Hit[] => answers.filter((answer) => answer.status !== 200)

/** Runs `change` while the load runs, with `settleMs` of load before and after it. */
async function underLoad (change: (load: Load) => Promise<void>, settleMs = 2500): Promise<{ answers: Hit[], counted: number }> {
  const before = await stack.stats()
  const load = stack.load(CLIENTS)
  await sleep(settleMs)
  await change(load)
  await sleep(settleMs)
  const answers = await load.stop()
  return { answers, counted: (await stack.stats()).total - before.total }
}

describe('workers come and go under load with no failed hit', () => {
  it('scale down 5 -> 2: 0 failed hits, counter moved by exactly the hits answered', async () => {
    const { answers, counted } = await underLoad(async () => {
      await stack.run('up', '-d', '--no-recreate', '--scale', 'worker=2')
    })
    console.log(`scale down 5 -> 2: ${answers.length} hits, ${failed(answers).length} failed, counter +${counted}`)
    expect(failed(answers)).toEqual([])
    expect(counted).toBe(answers.length)
    expect(await stack.workerHostnames()).toHaveLength(2)
  })

  it('a worker killed (SIGKILL): 0 failed hits, extra counts at most the hits in flight', async () => {
    await stack.scaleTo(3)
    const [victim] = await stack.containerIds('worker')
    let inFlightAtKill = 0
    const { answers, counted } = await underLoad(async (load) => {
      inFlightAtKill = load.inFlight
      await stack.kill(victim!)
    })
    const extra = counted - answers.length
    console.log(`kill -9 one of 3 workers: ${answers.length} hits, ${failed(answers).length} failed, counter +${counted} (${extra} extra; ${inFlightAtKill} hits in flight at the kill)`)
    expect(failed(answers)).toEqual([])
    expect(extra).toBeGreaterThanOrEqual(0)
    expect(extra).toBeLessThanOrEqual(inFlightAtKill)
  })

  it('rolling restart of every worker: 0 failed hits, counted exactly, all containers new', async () => {
    await stack.scaleTo(3)
    const oldWorkers = await stack.containerIds('worker')
    const { answers, counted } = await underLoad(async () => {
      await stack.script('scripts/rolling-restart.sh')
    })
    const newWorkers = await stack.containerIds('worker')
    console.log(`rolling restart of 3 workers: ${answers.length} hits, ${failed(answers).length} failed, counter +${counted}`)
    expect(failed(answers)).toEqual([])
    expect(counted).toBe(answers.length)
    expect(newWorkers).toHaveLength(3)
    expect(newWorkers.filter((id) => oldWorkers.includes(id))).toEqual([])
  })
})

describe('Redis and the whole stack going away', () => {
  it('Redis stopped: every hit is a 503 within 2.5 s, workers stay up; Redis back: hits count again within 15 s', async () => {
    const workersBefore = await stack.lifetimes('worker')
    const totalBefore = (await stack.stats()).total
    await stack.run('stop', 'redis')

    const duringOutage = await stack.hits(40, 4)
    const slowest = Math.max(...duringOutage.map((answer) => answer.ms))
    console.log(`Redis stopped: ${duringOutage.length} hits, statuses ${[...new Set(duringOutage.map((answer) => answer.status))].join(',')}, slowest ${slowest.toFixed(0)} ms`)
    expect(duringOutage.filter((answer) => answer.status !== 503)).toEqual([])
    expect(slowest).toBeLessThan(2500)

    await stack.run('start', 'redis')
    const msToRecover = await waitFor('hits to count again', async () => (await stack.hit()).status === 200, 15000, 100)
    console.log(`Redis started again: hits counted again after ${msToRecover} ms`)
    expect((await stack.stats()).total).toBeGreaterThan(totalBefore)
    const workersAfter = await stack.lifetimes('worker')
    expect(workersAfter).toEqual(workersBefore)
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
