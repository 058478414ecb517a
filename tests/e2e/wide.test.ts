import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../support/stack.js'
import { waitFor } from '../support/wait.js'
import { expectExact } from '../support/exact.js'
import { machineBusy } from '../support/machine.js'

// Scale out wide on a small machine: 3 -> 40 -> 3 workers under a light load
// (4 clients) through nginx, on 127.0.0.1 only. The idle cost of the machine
// is printed as a figure, not asserted: timing goals belong to benchmarks.
const WIDE = 40
let stack: Stack

beforeAll(async () => { stack = await Stack.up(3) })
afterAll(async () => { await stack?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe(`${WIDE} workers on this machine`, () => {
  it(`idle with 3 workers, then scaled 3 -> ${WIDE} under load: no hit fails, and all ${WIDE} serve`, async () => {
    await sleep(10000)
    console.log(`idle, 3 workers: ${(100 * await machineBusy(20000)).toFixed(1)} % of the machine busy over 20 s`)

    const before = await stack.stats()
    const load = stack.load(4)
    const started = Date.now()
    await stack.run('up', '-d', '--no-recreate', '--scale', `worker=${WIDE}`)
    const upMs = Date.now() - started
    const running = await stack.workerHostnames()
    expect(running).toHaveLength(WIDE)
    // The load's own hits tell when each new worker has served (extra hits would upset the count).
    await waitFor(`all ${WIDE} workers to serve`, async () => {
      const served = new Set(load.answers.map((answer) => answer.hostname))
      return running.every((host) => served.has(host))
    }, 90000, 100)
    const allServingMs = Date.now() - started
    const answers = await load.stop()
    console.log(`scale 3 -> ${WIDE}: 'up' returned after ${upMs} ms; all ${WIDE} had served a hit ${allServingMs} ms after it began`)
    expectExact(`scale 3 -> ${WIDE} under load`, { answers, before, after: await stack.stats() })
  })

  it(`idle with ${WIDE} workers, then scaled ${WIDE} -> 3 under load: no hit fails, counted exactly, per worker too`, async () => {
    await sleep(10000)
    console.log(`idle, ${WIDE} workers: ${(100 * await machineBusy(20000)).toFixed(1)} % of the machine busy over 20 s`)

    const before = await stack.stats()
    const load = stack.load(4)
    await sleep(1000)
    await stack.run('up', '-d', '--no-recreate', '--scale', 'worker=3')
    await sleep(2000)
    const answers = await load.stop()
    expectExact(`scale ${WIDE} -> 3 under load`, { answers, before, after: await stack.stats() })
    expect(await stack.workerHostnames()).toHaveLength(3)
  })
})
