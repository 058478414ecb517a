import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import DataLoader from 'dataloader'
import { ReplyError, type Result } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { PER_WORKER_KEY, RECENT_KEY, TOTAL_KEY } from '../keys.js'
import { ID_WINDOW_OFFSETS, ID_WINDOW_PREFIX, ID_WINDOW_SECONDS } from '../id-windows.js'
import { RECENT_HITS } from './live-view.js'
import { classify, CounterUnavailableError, measured, unlessAwayTooLong } from '../redis-calls.js'

// The exactly-once client: each hit counted once by its id, in batches, tried
// again through lost replies, restarts and failovers within its budget, never
// counted after it was answered 503. The live view's reads are live-view.ts.

/** What counting one hit gave. */
export interface CountedHit {
  /** This hit's own number: the total once it was counted. */
  total: number
  /** How many hits this worker has served, this one included. */
  worker: number
}

export interface Counter {
  /** Counts the hit whose every try carries `hitId`: once, however often it is tried. */
  hit: (hitId: string) => Promise<CountedHit>
}

declare module 'fastify' {
  interface FastifyInstance {
    counter: Counter
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Null: refused (past the deadline), nothing counted. */
    countHits: (
      totalKey: string, perWorkerKey: string, recentKey: string, worker: string, deadline: number,
      windowSeconds: number, windowPrefix: string, windowOffsets: string, recentKept: number, ...hitIds: string[]
    ) => Result<number[] | null, Context>
  }
}

export { PER_WORKER_KEY, TOTAL_KEY } from '../keys.js'
export { ID_WINDOW_SECONDS, idWindowKey } from '../id-windows.js'
/** At most this many hits in one script call, so one call never holds Redis long. */
export const MAX_HITS_PER_CALL = 64
/** Pause before trying a batch again after a lost connection or a refusal that may pass (a failover under way). */
export const RETRY_PAUSE_MS = 25
/**
 * Redis refuses a batch this long before the worker gives up on it (a tenth of
 * the budget, at least 50 ms), so that a count that lands in the moment the
 * worker answers 503 stays rare: it covers the error in reading Redis's clock
 * (a round trip at most, and its drift between two readings) and the reply's way
 * back, through an event loop that load may hold up for tens of ms.
 */
export const deadlineMarginMs = (timeoutMs: number): number => Math.max(50, Math.round(timeoutMs / 10))

const COUNT_HITS = readFileSync(new URL('../lua/count-hits.lua', import.meta.url), 'utf8')

/** How the script counted a hit: by this call, by an earlier one crediting this worker already, or earlier and now credited here. */
export type HowCounted = 'now' | 'already-mine' | 'moved-here'
const HOW: Record<number, HowCounted> = { 1: 'now', 2: 'already-mine', 0: 'moved-here' }

/** The script's flat reply ({number, worker's count, how} per hit, count-hits.lua), one entry per hit. */
export function decodeCountReply (reply: number[], hits: number): Array<CountedHit & { how: HowCounted }> {
  if (reply.length !== 3 * hits) throw new Error(`the count script answered ${reply.length} values for ${hits} hits`)
  return Array.from({ length: hits }, (_, i) => {
    const how = HOW[reply[3 * i + 2]!]
    if (how === undefined) throw new Error(`the count script answered how=${reply[3 * i + 2]}`)
    return { total: reply[3 * i]!, worker: reply[3 * i + 1]!, how }
  })
}

export interface CounterOptions {
  hostname: string
  /** How long a hit may wait for Redis (all its tries); the script refuses to count it after that. */
  timeoutMs: number
  /** How many replicas must hold a batch's counts before its hits are answered (Redis WAIT); 0 with a lone Redis. */
  minReplicas: number
}

/** `pending`, or a CounterUnavailableError once `endsAt` (performance.now()) comes. */
async function before<T> (pending: Promise<T>, endsAt: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new CounterUnavailableError(new Error(`${what} within the hit's budget`))) }, Math.max(0, endsAt - performance.now()))
  })
  pending.catch(() => {})
  try {
    return await Promise.race([pending, late])
  } finally {
    clearTimeout(timer)
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The exactly-once hit counter in Redis, decorated as `app.counter`. */
async function counterPlugin (app: FastifyInstance, opts: CounterOptions): Promise<void> {
  app.redis.defineCommand('countHits', { numberOfKeys: 3, lua: COUNT_HITS })
  const { metrics } = app

  /**
   * One try of a batch: the script, then (with replicas) WAIT until enough
   * replicas hold its counts. `earlierTryMayHaveRun`: a try of this batch lost
   * its reply, so the hits it counted come back as already this worker's, and
   * are this worker's to report. `reported`: the ids this batch's tries have
   * counted in hitcounter_hits_total already (a try whose WAIT failed after its
   * reply came), so none is counted there twice.
   */
  const tryBatch = async (
    hitIds: readonly string[], deadline: number, budgetEnds: number, earlierTryMayHaveRun: boolean, reported: Set<string>
  ): Promise<CountedHit[]> => {
    const reply = await measured(app, 'count_hits', app.redis.countHits(
      TOTAL_KEY, PER_WORKER_KEY, RECENT_KEY, opts.hostname, deadline, ID_WINDOW_SECONDS, ID_WINDOW_PREFIX, ID_WINDOW_OFFSETS.join(','), RECENT_HITS, ...hitIds
    ))
    if (reply === null) {
      metrics.redisErrors.inc({ call: 'count_hits', kind: 'late' })
      throw new CounterUnavailableError(new Error('Redis ran the count after the hits\' deadline'))
    }
    // This worker's hits, read from the reply before WAIT (Redis's total holds them whatever the replicas say):
    // those counted now, and, after a lost reply, those that try counted; each id once, over all the tries.
    const counted = decodeCountReply(reply, hitIds.length)
    const reportedBefore = reported.size
    counted.forEach(({ how }, i) => { if (how === 'now' || (earlierTryMayHaveRun && how === 'already-mine')) reported.add(hitIds[i]!) })
    metrics.hitsCounted.inc(reported.size - reportedBefore)
    app.liveView.counted(reported.size - reportedBefore)
    metrics.hitsPerCall.observe(hitIds.length)
    if (opts.minReplicas > 0) {
      const acked = await measured(app, 'wait', app.redis.wait(opts.minReplicas, Math.max(1, Math.ceil(budgetEnds - performance.now()))))
      if (acked < opts.minReplicas) {
        metrics.redisErrors.inc({ call: 'wait', kind: 'replicas' })
        throw new CounterUnavailableError(new Error(`${acked} of ${opts.minReplicas} replicas confirmed the count in time`))
      }
    }
    return counted.map(({ total, worker }) => ({ total, worker }))
  }

  // A batch is tried until it is answered or its budget (REDIS_TIMEOUT_MS) is
  // spent: a lost reply, a restarted Redis or a failover inside the budget
  // costs no hit. Every try carries the same ids and the same deadline, so a
  // batch is counted at most once, and never after its hits were answered 503.
  const countBatch = async (hitIds: readonly string[]): Promise<CountedHit[]> => {
    const budgetEnds = performance.now() + opts.timeoutMs
    // Away for longer than a hit may wait: answer now instead of waiting for nothing.
    unlessAwayTooLong(app, opts.timeoutMs)
    // The budget's own end on Redis's clock: a first read of the clock that is slow takes from the budget, never adds to it.
    const deadline = Math.floor(await before(app.redisClock.at(budgetEnds), budgetEnds, 'no answer from Redis')) - deadlineMarginMs(opts.timeoutMs)
    let earlierTryMayHaveRun = false
    const reported = new Set<string>()
    for (;;) {
      try {
        return await before(Promise.race([tryBatch(hitIds, deadline, budgetEnds, earlierTryMayHaveRun, reported), app.redisLost()]), budgetEnds, 'no answer from Redis')
      } catch (err) {
        // A refusal (READONLY, …) means the script did not run; a lost connection may have lost only its reply.
        earlierTryMayHaveRun ||= !(err instanceof ReplyError)
        const { retry, answer } = classify(err)
        if (!retry || performance.now() + RETRY_PAUSE_MS >= budgetEnds) throw answer
        app.log.debug({ reason: (err as Error).message, hits: hitIds.length }, 'trying a batch again')
        await sleep(RETRY_PAUSE_MS)
      }
    }
  }
  // The hits of every connection read in one turn of the event loop go to
  // Redis in one call. setImmediate, not process.nextTick: Node runs the tick
  // queue after each connection's read, so a tick would hold one hit; the
  // check phase comes after all of that turn's reads. A lone hit waits no
  // timer, only for the end of its own turn.
  const batches = new DataLoader(countBatch, {
    cache: false,
    maxBatchSize: MAX_HITS_PER_CALL,
    batchScheduleFn: (send) => setImmediate(send)
  })

  app.decorate('counter', {
    async hit (hitId) {
      return await batches.load(hitId)
    }
  })
}

export default fp(counterPlugin, { name: 'counter', dependencies: ['redis', 'metrics', 'live-view'] })
