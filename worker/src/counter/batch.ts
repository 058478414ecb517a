import { ReplyError } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { classify, CounterUnavailableError, measured, unlessAwayTooLong } from '../redis/calls.js'
import { countHits, type CountedHit, type HowCounted } from './count-hits.js'

// One batch of hits, tried again through lost replies, restarts and failovers
// until it is answered or its budget (REDIS_TIMEOUT_MS) is spent.

export interface CounterOptions {
  hostname: string
  /** How long a hit may wait for Redis (all its tries); the script refuses to count it after that. */
  timeoutMs: number
  /** How many replicas must hold a batch's counts before its hits are answered (Redis WAIT); 0 with a lone Redis. */
  minReplicas: number
}

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

/** What every try of one batch shares. */
interface Batch {
  hitIds: readonly string[]
  /** Where its budget ends, on this process's clock (performance.now()). */
  budgetEnds: number
  /** Where the script refuses it, on Redis's clock. */
  deadline: number
  /**
   * The ids its tries have counted in hitcounter_hits_total already (a try
   * whose WAIT failed after its reply came), so none is counted there twice.
   */
  reported: Set<string>
}

/**
 * This worker's hits, read from the reply before WAIT (Redis's total holds
 * them whatever the replicas say), into hitcounter_hits_total and the live
 * view's tally: those counted now, and, after a lost reply, those that try
 * counted; each id once, over all the tries.
 */
function reportCounted (app: FastifyInstance, batch: Batch, counted: Array<{ how: HowCounted }>, earlierTryMayHaveRun: boolean): void {
  const reportedBefore = batch.reported.size
  counted.forEach(({ how }, i) => { if (how === 'now' || (earlierTryMayHaveRun && how === 'already-mine')) batch.reported.add(batch.hitIds[i]!) })
  app.metrics.hitsCounted.inc(batch.reported.size - reportedBefore)
  app.liveView.counted(batch.reported.size - reportedBefore)
  app.metrics.hitsPerCall.observe(batch.hitIds.length)
}

/** Redis WAIT: a CounterUnavailableError unless `minReplicas` replicas hold the counts before `budgetEnds`. */
async function confirmOnReplicas (app: FastifyInstance, minReplicas: number, budgetEnds: number): Promise<void> {
  const acked = await measured(app, 'wait', app.redis.wait(minReplicas, Math.max(1, Math.ceil(budgetEnds - performance.now()))))
  if (acked < minReplicas) {
    app.metrics.redisErrors.inc({ call: 'wait', kind: 'replicas' })
    throw new CounterUnavailableError(new Error(`${acked} of ${minReplicas} replicas confirmed the count in time`))
  }
}

/**
 * One try of a batch: the script, then (with replicas) WAIT until enough
 * replicas hold its counts. `earlierTryMayHaveRun`: a try of this batch lost
 * its reply, so the hits it counted come back as already this worker's, and
 * are this worker's to report.
 */
async function tryBatch (app: FastifyInstance, opts: CounterOptions, batch: Batch, earlierTryMayHaveRun: boolean): Promise<CountedHit[]> {
  const counted = await countHits(app, opts.hostname, batch.deadline, batch.hitIds)
  reportCounted(app, batch, counted, earlierTryMayHaveRun)
  if (opts.minReplicas > 0) await confirmOnReplicas(app, opts.minReplicas, batch.budgetEnds)
  return counted.map(({ total, worker }) => ({ total, worker }))
}

/**
 * A batch is tried until it is answered or its budget (REDIS_TIMEOUT_MS) is
 * spent: a lost reply, a restarted Redis or a failover inside the budget
 * costs no hit. Every try carries the same ids and the same deadline, so a
 * batch is counted at most once, and never after its hits were answered 503.
 */
export async function countBatch (app: FastifyInstance, opts: CounterOptions, hitIds: readonly string[]): Promise<CountedHit[]> {
  const budgetEnds = performance.now() + opts.timeoutMs
  // Away for longer than a hit may wait: answer now instead of waiting for nothing.
  unlessAwayTooLong(app, opts.timeoutMs)
  // The budget's own end on Redis's clock: a first read of the clock that is slow takes from the budget, never adds to it.
  const deadline = Math.floor(await before(app.redisClock.at(budgetEnds), budgetEnds, 'no answer from Redis')) - deadlineMarginMs(opts.timeoutMs)
  const batch: Batch = { hitIds, budgetEnds, deadline, reported: new Set<string>() }
  let earlierTryMayHaveRun = false
  for (;;) {
    try {
      return await before(Promise.race([tryBatch(app, opts, batch, earlierTryMayHaveRun), app.redisLost()]), budgetEnds, 'no answer from Redis')
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
