// What one point of the scaling curve says: its figures from two readings of
// the stack's counters (before and after the measured runs), and, from them,
// one sentence naming what limited it. Plain logic, no Docker: the benchmark
// reads the counters, tests/bench/explain.test.ts checks the reasoning.

/** The counters read before and after a point's measured runs. */
export interface Reading {
  /** µs since some fixed moment (performance.now() × 1000). */
  atUs: number
  /** Each worker container: CPU µs, throttling, connections accepted. */
  workers: Array<{ cpuUs: number, periods: number, throttled: number, throttledUs: number, accepted: number }>
  nginxUs: number
  redisUs: number
  /** Hits counted in Redis, and calls of the hit script (EVALSHA and EVAL). */
  hits: number
  scriptCalls: number
  /** Each core's busy and total µs (/proc/stat). */
  cores: Array<{ busy: number, total: number }>
}

export interface PointFigures {
  /**
   * CPU µs per hit: nginx, all workers together, Redis, and the rest of the
   * machine (the load generator, Docker's daemons, the kernel's unattributed work).
   */
  cpu_us: { nginx: number, workers: number, redis: number, rest: number }
  /** The workers' CPU as a share of their caps (n × cap). */
  workers_of_cap: number
  /** nginx's and Redis's CPU as shares of the whole machine (all cores). */
  nginx_of_machine: number
  redis_of_machine: number
  /** Each core's busy share over the runs. */
  cores_busy: number[]
  /** The share of the workers' enforcement periods in which they ran out of quota. */
  throttled_periods: number
  /** ms per second each worker was held by its quota, on average (summed over the cores' run queues it waited on). */
  throttled_ms_per_s: number
  hits_per_call: number
  /** New connections nginx opened to the workers per 1,000 hits. */
  connections_per_1000: number
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

/** The figures of a point whose runs answered `answered` hits, with `cap` CPU per worker. */
export function pointFigures (before: Reading, after: Reading, answered: number, cap: number): PointFigures {
  const elapsedUs = after.atUs - before.atUs
  const delta = (pick: (w: Reading['workers'][number]) => number): number =>
    sum(after.workers.map(pick)) - sum(before.workers.map(pick))
  const workersUs = delta((w) => w.cpuUs)
  const nginxUs = after.nginxUs - before.nginxUs
  const redisUs = after.redisUs - before.redisUs
  const coresBusy = after.cores.map((core, i) => (core.busy - before.cores[i]!.busy) / (core.total - before.cores[i]!.total))
  const machineBusyUs = sum(after.cores.map((core, i) => core.busy - before.cores[i]!.busy))
  const machineUs = elapsedUs * after.cores.length
  const n = after.workers.length
  const periods = delta((w) => w.periods)
  return {
    cpu_us: {
      nginx: nginxUs / answered,
      workers: workersUs / answered,
      redis: redisUs / answered,
      rest: (machineBusyUs - nginxUs - workersUs - redisUs) / answered
    },
    workers_of_cap: workersUs / (n * cap * elapsedUs),
    nginx_of_machine: nginxUs / machineUs,
    redis_of_machine: redisUs / machineUs,
    cores_busy: coresBusy,
    throttled_periods: periods > 0 ? delta((w) => w.throttled) / periods : 0,
    throttled_ms_per_s: delta((w) => w.throttledUs) / n / (elapsedUs / 1000),
    hits_per_call: (after.hits - before.hits) / Math.max(1, after.scriptCalls - before.scriptCalls),
    connections_per_1000: (1000 * delta((w) => w.accepted)) / answered
  }
}

/** Above this share a part is taken as the limit (a core, or the workers' caps). */
export const BUSY = 0.9
/** More new connections than this per 1,000 hits means nginx is not reusing them. */
const CHURN_PER_1000 = 50

const pct = (share: number): string => `${Math.round(100 * share)} %`

/**
 * One sentence naming what limited a point, from its figures: the machine's
 * cores, the workers' caps, new connections, or (none of those busy) the load itself.
 * `atOne`: the figures with one worker, to say when a hit got dearer, and how its batches changed.
 */
export function limitingFactor (workers: number, f: PointFigures, atOne: PointFigures): string {
  const cores = f.cores_busy.map(pct).join(' and ')
  const dearer = workers > 1 && f.cpu_us.workers > 1.2 * atOne.cpu_us.workers
    ? `; a hit cost the workers ${(f.cpu_us.workers / atOne.cpu_us.workers).toFixed(1)}× what it did with 1 (${Math.round(f.cpu_us.workers)} µs), ` +
      `with ${f.hits_per_call.toFixed(1)} hits a Redis call against ${atOne.hits_per_call.toFixed(1)}`
    : ''
  if (Math.min(...f.cores_busy) >= BUSY) {
    return `The machine: both cores were busy (${cores}), the workers at ${pct(f.workers_of_cap)} of their caps${dearer}.`
  }
  if (f.workers_of_cap >= BUSY) {
    return `The workers' caps: they used ${pct(f.workers_of_cap)} of ${workers} × their CPU, held by the quota in ` +
      `${pct(f.throttled_periods)} of periods, at ${Math.round(f.cpu_us.workers)} µs a hit${dearer}; the cores were ${cores} busy.`
  }
  if (f.connections_per_1000 >= CHURN_PER_1000) {
    return `New connections: nginx opened ${Math.round(f.connections_per_1000)} to the workers per 1,000 hits, ` +
      `and the workers used only ${pct(f.workers_of_cap)} of their caps${dearer}.`
  }
  return `Not the workers (${pct(f.workers_of_cap)} of their caps) nor the cores (${cores}): the load left them waiting${dearer}.`
}

/** The scaling goals: N capped workers give this many times the hits of one. */
export const SCALING_TARGETS = [{ workers: 4, times: 3.4 }, { workers: 8, times: 6 }]

export interface ScalingGoal { name: string, value: string, goal: string, met: boolean }

/**
 * Each scaling goal, met when the ratio is reached, or when both cores were
 * busy first (at least BUSY) and every goal below it was met: past that point
 * the machine, not the design, sets the rate.
 */
export function scalingGoals (points: ReadonlyArray<{ workers: number, rps: number, figures: Pick<PointFigures, 'cores_busy'> }>): ScalingGoal[] {
  const one = points.find((p) => p.workers === 1)
  let metBelow = true
  return SCALING_TARGETS.flatMap(({ workers, times }) => {
    const point = points.find((p) => p.workers === workers)
    if (one === undefined || point === undefined) return []
    const ratio = point.rps / one.rps
    const coresBusy = Math.min(...point.figures.cores_busy) >= BUSY
    const met = ratio >= times || (coresBusy && metBelow)
    metBelow &&= met
    return [{
      name: `${workers} workers, each capped: req/s ÷ 1 worker's`,
      value: `${ratio.toFixed(2)}× (efficiency ${(ratio / workers).toFixed(2)}${coresBusy ? '; both cores busy' : ''})`,
      goal: `≥ ${times}×, or both cores ≥ ${Math.round(100 * BUSY)} % busy`,
      met
    }]
  })
}
