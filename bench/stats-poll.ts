// What one /stats poll (the live view reads it every second) costs the workers,
// at 3 and at 40 serving workers: on a fresh stack, and after 10 scale cycles
// 3 -> 40 -> 3 (370 workers come and gone) once the gone ones are folded into
// "earlier workers" (FOLD_AFTER_MS, its least here). Without the fold, every
// worker that ever counted stays an entry of /stats.
import { Stack } from '../harness/stack.js'
import { waitFor } from '../harness/wait.js'
import { FOLD_MIN_MS } from '../worker/src/config.js'
import { cpuMicros, type CpuUse } from './cpu.js'

/** Polls per serving worker, to warm each one, then to measure. */
const POLLS_PER_WORKER = Number(process.env.BENCH_STATS_POLLS_PER_WORKER ?? 50)
const CLIENTS = 4
const CYCLES = Number(process.env.BENCH_STATS_CYCLES ?? 10)
const FEW = 3
const MANY = Number(process.env.BENCH_STATS_MANY ?? 40)

export interface StatsPoll {
  /** µs of the workers' CPU per /stats poll, and the entries /stats held. */
  fresh: Record<'few' | 'many', PollCost>
  /** After the cycles, before the fold: what it would cost for good without one. */
  unfolded: PollCost
  folded: Record<'few' | 'many', PollCost>
  cycles: number
  workers: { few: number, many: number }
}
export interface PollCost { us: number, entries: number }

/** `count` polls through nginx from CLIENTS clients at once; the entries the last one held. */
async function polls (stack: Stack, count: number): Promise<number> {
  let left = count
  let entries = 0
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (left-- > 0) entries = Object.keys((await stack.stats()).workers).length
  }))
  return entries
}

/**
 * The workers' CPU per poll once every worker is healthy (a new one's health
 * checks come every 0.5 s until then) and warm (its first polls run code V8 has
 * not optimized yet): POLLS_PER_WORKER polls for each serving worker, less what
 * the workers use idle in as long (beats, health checks).
 */
async function pollCost (stack: Stack): Promise<PollCost> {
  const ids = await stack.containerIds('worker')
  await waitFor('every worker to be healthy', async () =>
    (await Promise.all(ids.map(async (id) => await stack.inspect(id, '{{.State.Health.Status}}')))).every((status) => status === 'healthy'), 120000, 1000)
  const count = POLLS_PER_WORKER * ids.length
  await polls(stack, count)
  const used = (before: Map<string, CpuUse>, after: Map<string, CpuUse>): number =>
    ids.reduce((sum, id) => sum + after.get(id)!.total - before.get(id)!.total, 0)
  const started = performance.now()
  const before = await cpuMicros(ids)
  const entries = await polls(stack, count)
  const polled = used(before, await cpuMicros(ids))
  const idleBefore = await cpuMicros(ids)
  await new Promise((resolve) => setTimeout(resolve, performance.now() - started))
  const idle = used(idleBefore, await cpuMicros(ids))
  return { us: (polled - idle) / count, entries }
}

export async function statsPollAfterChurn (): Promise<StatsPoll> {
  const stack = await Stack.up(FEW, { project: `hitcounter-bench-stats-${process.pid}`, durable: true, env: { FOLD_AFTER_MS: String(FOLD_MIN_MS) } })
  const say = (what: string): void => { process.stderr.write(`bench: /stats polls: ${what}\n`) }
  try {
    say(`${FEW} and ${MANY} workers, fresh`)
    const freshFew = await pollCost(stack)
    await stack.scaleTo(MANY, 120000)
    const freshMany = await pollCost(stack)
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      say(`scale cycle ${cycle} of ${CYCLES}: ${FEW} -> ${MANY} -> ${FEW}`)
      await stack.scaleTo(FEW)
      await stack.scaleTo(MANY, 120000) // each new worker serves a hit, so it has an entry
    }
    await stack.scaleTo(FEW)
    const unfolded = await pollCost(stack)
    say(`waiting for the gone workers to be folded (${FOLD_MIN_MS / 1000} s after their last beat)`)
    await waitFor('the gone workers to be folded', async () => Object.keys((await stack.stats()).workers).length <= FEW + 1, FOLD_MIN_MS + 60000, 1000)
    const foldedFew = await pollCost(stack)
    await stack.scaleTo(MANY, 120000)
    const foldedMany = await pollCost(stack)
    return {
      fresh: { few: freshFew, many: freshMany },
      unfolded,
      folded: { few: foldedFew, many: foldedMany },
      cycles: CYCLES,
      workers: { few: FEW, many: MANY }
    }
  } finally {
    await stack.down()
  }
}
