// The principle as a curve, explained: req/s with 1, 2, 4, 8 and 16 workers,
// each capped at a tenth of a CPU, and for every point what each part spent,
// how often the quota held the workers, how many hits one Redis call carried,
// how many connections nginx opened, and what limited it.
import { eachServes, sh, type Stack } from '../harness/stack.js'
import { coreMicros } from '../harness/machine.js'
import { connectionsAccepted, cpuMicros, throttling } from './cpu.js'
import { limitingFactor, pointFigures, type PointFigures, type Reading } from './explain.js'
import { median, wrk, wrkErrors, type Target } from './load.js'

/**
 * Each worker's cap: 1 ms of CPU in every 10 ms (0.1 CPU), not Docker's --cpus
 * (10 ms in every 100 ms), under which a worker runs 10 ms then stalls 90 ms
 * while its share of the clients waits on it.
 */
export const WORKER_CAP = { periodUs: 10000, quotaUs: 1000 }
export const CAP_CPU = WORKER_CAP.quotaUs / WORKER_CAP.periodUs
export const WORKER_COUNTS = [1, 2, 4, 8, 16]
/**
 * Clients per worker in the closed loop. By Little's law a worker capped at
 * 1 ms in 10 ms keeps busy only while more requests wait on it than it serves
 * in a period plus the 9 ms it is held: 50 clients in all, as before, could
 * not keep 8 workers busy; 64 a worker do (92-99 % of their caps). Not more:
 * with 128 a worker, one turn of a worker's event loop counted more hits in a
 * Redis call, but its queue grew past nginx's read timeout (p99 1-3 s), so
 * nginx tried hits again elsewhere, marked the worker failed for a second and
 * sent its share to the others (6-40 failed hits at 2-8 workers).
 */
export const CLIENTS_PER_WORKER = 64
/** The open loop's bound: a rate is sustained when it is met (98 %) with p99 at most this and no error. */
export const OPEN_LOOP_P99_MS = 100
/** Rates tried in the open loop, as shares of the closed loop's req/s, highest first. */
const OPEN_LOOP_SHARES = [1, 0.85, 0.7, 0.55, 0.4]

export interface ScalingPoint {
  workers: number
  /** Closed loop (wrk, CLIENTS_PER_WORKER × workers connections): the headline. */
  connections: number
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
  figures: PointFigures
  /** The highest rate tried that the open loop sustained, and its p99; 0 when none was. */
  open: { rate: number, p99_ms: number }
  limit: string
}

export interface ScalingOptions {
  runs: number
  seconds: number
  warmupS: number
  openLoopS: number
}

const evalCalls = (info: string): number =>
  [...info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+),/gm)].reduce((total, m) => total + Number(m[1]), 0)

async function read (stack: Stack, web: string[], redis: string[], workerIds: string[]): Promise<Reading> {
  const [cpu, held, accepted] = await Promise.all([
    cpuMicros([...workerIds, ...web, ...redis]), throttling(workerIds), connectionsAccepted(workerIds)
  ])
  const [info, hits] = await Promise.all([
    stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'INFO', 'commandstats'),
    stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'GET', 'hits')
  ])
  return {
    atUs: performance.now() * 1000,
    workers: workerIds.map((id) => ({ cpuUs: cpu.get(id)!.total, ...held.get(id)!, accepted: accepted.get(id)! })),
    nginxUs: web.reduce((total, id) => total + cpu.get(id)!.total, 0),
    redisUs: redis.reduce((total, id) => total + cpu.get(id)!.total, 0),
    hits: Number(hits.trim()),
    scriptCalls: evalCalls(info),
    cores: await coreMicros()
  }
}

/**
 * Measures the curve through `target` (nginx, reached without Docker's port
 * proxy: wrk in nginx's network namespace, the cheapest honest
 * path, so the machine's cores go to the stack, not to the proxy).
 */
export async function scalingCurve (stack: Stack, target: Target, opts: ScalingOptions): Promise<ScalingPoint[]> {
  const [web, redis] = [await stack.containerIds('web'), await stack.containerIds('redis')]
  const cap = async (ids: string[], quotaUs: number): Promise<void> => {
    await sh('docker', ['update', '--cpu-period', String(WORKER_CAP.periodUs), '--cpu-quota', String(quotaUs), ...ids])
  }
  const points: ScalingPoint[] = []
  for (const n of WORKER_COUNTS) {
    // Every point's workers new, then warmed alike: nginx gives each worker the
    // same share of the hits, so in a closed loop the clients gather at the
    // slowest one, and one worker colder than the rest sets the pace of all
    // (2 workers, one of them new, gave fewer hits than the 1 warm worker before).
    await stack.run('up', '-d', '--force-recreate', '--no-deps', '--scale', `worker=${n}`, 'worker')
    await eachServes(stack.url, await stack.workerHostnames(), 60000)
    const ids = await stack.containerIds('worker')
    const connections = CLIENTS_PER_WORKER * n
    process.stderr.write(`bench: ${n} workers capped at ${CAP_CPU} CPU, ${connections} connections `)
    // A new worker's first seconds are JIT compilation: warmed uncapped, as a
    // worker that has served a while is, so the curve measures serving, not starting.
    await cap(ids, -1)
    await wrk(target, opts.warmupS, connections)
    await cap(ids, WORKER_CAP.quotaUs)
    await wrk(target, 2, connections)
    const before = await read(stack, web, redis, ids)
    const runs = []
    for (let i = 0; i < opts.runs; i++) {
      runs.push(await wrk(target, opts.seconds, connections))
      process.stderr.write('.')
    }
    const after = await read(stack, web, redis, ids)
    const errors = runs.reduce((total, r) => total + wrkErrors(r), 0)
    const answered = runs.reduce((total, r) => total + r.requests, 0) - errors
    const rps = median(runs.map((r) => r.requests / (r.duration_us / 1e6)))
    const figures = pointFigures(before, after, answered, CAP_CPU)
    let open = { rate: 0, p99_ms: 0 }
    for (const share of OPEN_LOOP_SHARES) {
      const rate = Math.round(rps * share)
      const result = await wrk(target, opts.openLoopS, connections, rate)
      const achieved = result.requests / (result.duration_us / 1e6)
      if (wrkErrors(result) === 0 && achieved >= 0.98 * rate && result.p99_us / 1000 <= OPEN_LOOP_P99_MS) {
        open = { rate, p99_ms: result.p99_us / 1000 }
        break
      }
    }
    const atOne = points[0]?.figures ?? figures
    points.push({
      workers: n,
      connections,
      rps,
      p50_ms: median(runs.map((r) => r.p50_us / 1000)),
      p99_ms: median(runs.map((r) => r.p99_us / 1000)),
      errors,
      figures,
      open,
      limit: limitingFactor(n, figures, atOne)
    })
    process.stderr.write(` ${Math.round(rps)} req/s; open loop ${open.rate} req/s\n`)
  }
  await cap(await stack.containerIds('worker'), -1)
  return points
}
