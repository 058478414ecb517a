import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import DataLoader from 'dataloader'
import { ReplyError, type Result } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import type { HistoryReply, StatsReply } from '../schemas.js'
import { ALIVE_TTL_MS } from './presence.js'
import { ALIVE_KEY, NODES_KEY, PER_WORKER_KEY, RECENT_KEY, SLOTS_KEY, TOTAL_KEY } from '../keys.js'
import type { RedisCall } from './metrics.js'
import { SecondTally } from '../second-tally.js'

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
  stats: () => Promise<StatsReply>
  history: () => Promise<HistoryReply>
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
      windowSeconds: number, windowPrefix: string, recentKept: number, ...hitIds: string[]
    ) => Result<number[] | null, Context>
  }
}

export { PER_WORKER_KEY, TOTAL_KEY } from '../keys.js'
/** How many of the most recent hits RECENT_KEY keeps. */
export const RECENT_HITS = 24
/**
 * Each second's new hits per worker, a hash per second (Redis's clock) kept
 * HISTORY_SECONDS: each worker writes its own once a second (TALLY_WRITE_MS),
 * once the second is over, so the history ends HISTORY_LAG_SECONDS before now.
 */
const SECOND_PREFIX = 'hits:second:'
export const HISTORY_SECONDS = 60
const TALLY_WRITE_MS = 1000
export const HISTORY_LAG_SECONDS = 2
/**
 * The hits' ids are remembered in one hash per window of this many seconds
 * (Redis's clock), field = id, value = "number worker". A try looks in the
 * current window, the two before and the one after, so an id is found for at
 * least 2 windows (40 s) after it was counted: longer than all the tries of one
 * hit can span (nginx's two passes over the workers, web/tries.conf, then at
 * most REDIS_TIMEOUT_MS of the last try: 38.5 s on Swarm;
 * tests/deploy/timing.test.ts checks it), less any difference between the
 * clocks of two primaries a failover went between.
 */
export const ID_WINDOW_SECONDS = 20
const ID_WINDOW_PREFIX = 'hits:ids:'
/** Where the ids counted in the window that holds `unixSeconds` are kept; the hash goes 4 windows after it began. */
export const idWindowKey = (unixSeconds: number): string => `${ID_WINDOW_PREFIX}${Math.floor(unixSeconds / ID_WINDOW_SECONDS)}`
/** At most this many hits in one script call, so one call never holds Redis long. */
export const MAX_HITS_PER_CALL = 64
/** Pause before trying a batch again after a lost connection or a refusal that may pass (a failover under way). */
const RETRY_PAUSE_MS = 25
/**
 * Redis refuses a batch this long before the worker gives up on it (a tenth of
 * the budget, at least 50 ms), so that a count that lands in the moment the
 * worker answers 503 stays rare: it covers the error in reading Redis's clock
 * (half a round trip, and its drift between two readings) and the reply's way
 * back, through an event loop that load may hold up for tens of ms.
 */
export const deadlineMarginMs = (timeoutMs: number): number => Math.max(50, Math.round(timeoutMs / 10))

const COUNT_HITS = readFileSync(new URL('../lua/count-hits.lua', import.meta.url), 'utf8')

/**
 * Why a Redis call failed, in a word, for the `kind` label of
 * hitcounter_redis_errors_total: Redis's own error code (READONLY, …), or what
 * the client saw (a timeout, a lost connection). A bounded set: never a message.
 */
function failureKind (err: unknown): string {
  if (err instanceof ReplyError) return /^[A-Z]{2,16}\b/.exec((err as Error).message)?.[0]?.toLowerCase() ?? 'reply'
  return err instanceof Error && err.message === 'Command timed out' ? 'timeout' : 'connection'
}

/** The hits were not answered 200: Redis could not count them, or confirm them on a replica, in time. */
export class CounterUnavailableError extends Error {
  override name = 'CounterUnavailableError'
  readonly statusCode = 503
  constructor (cause: unknown) {
    super('counter unavailable: Redis is not reachable, try again shortly', { cause })
  }
}

export interface CounterOptions {
  hostname: string
  /** How long a hit may wait for Redis (all its tries); the script refuses to count it after that. */
  timeoutMs: number
  /** How many replicas must hold a batch's counts before its hits are answered (Redis WAIT); 0 with a lone Redis. */
  minReplicas: number
}

/**
 * Errors after which the same hits may be tried again: the connection was lost
 * (the reply with it: the hits may or may not have been counted, and a try by
 * id tells which), a failover is under way, or no replica is there right now.
 * Anything else Redis replied with is a bug (500); the budget running out, or
 * the script refusing a late call, is final (503).
 */
function worthRetrying (err: unknown): boolean {
  if (err instanceof CounterUnavailableError) return false
  if (err instanceof ReplyError) return /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN)/.test((err as Error).message)
  return !(err instanceof Error && err.message === 'Command timed out')
}

/** Connection trouble becomes a 503; an error Redis itself replied with stays a bug (500). */
function asAnswer (err: unknown): unknown {
  if (err instanceof ReplyError && !worthRetrying(err)) return err
  return err instanceof CounterUnavailableError ? err : new CounterUnavailableError(err)
}

async function unlessUnavailable<T> (pending: Promise<T>): Promise<T> {
  try {
    return await pending
  } catch (err) {
    throw asAnswer(err)
  }
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

const numbers = (hash: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, Number(value)]))

/** The values of a MULTI's replies; the first error among them is thrown. */
function values (replies: Array<[Error | null, unknown]> | null): unknown[] {
  return (replies ?? []).map(([err, value]) => {
    if (err !== null) throw err
    return value
  })
}

/** The hit counter in Redis, decorated as `app.counter`. */
async function counterPlugin (app: FastifyInstance, opts: CounterOptions): Promise<void> {
  /** Reads fail at once while Redis has been away longer than a hit may wait. */
  const unlessAwayTooLong = (): void => {
    if (app.redisAwayMs() > opts.timeoutMs) throw new CounterUnavailableError(new Error(`Redis unreachable for ${Math.round(app.redisAwayMs())} ms`))
  }
  app.redis.defineCommand('countHits', { numberOfKeys: 3, lua: COUNT_HITS })
  const { metrics } = app

  // The live view's chart: this worker's hits per second, written once a
  // second (one call, none while idle) rather than by every batch's script.
  const tally = new SecondTally()
  const secondKey = (second: number): string => `${SECOND_PREFIX}${second}`
  const writeTally = async (current: number): Promise<void> => {
    if (app.redis.status !== 'ready') return
    const done = tally.takeBefore(current, Math.floor(await app.redisClock.now() / 1000) - HISTORY_SECONDS)
    if (done.length === 0) return
    const writes = app.redis.multi()
    for (const [second, hits] of done) writes.hincrby(secondKey(second), opts.hostname, hits).expire(secondKey(second), HISTORY_SECONDS + 5, 'NX')
    // Not written (Redis went away, or a failover): written with the next second's.
    const written = await writes.exec().then((replies) => { values(replies); return true }).catch(() => false)
    if (!written) tally.putBack(done)
  }
  const tallyTimer = setInterval(() => {
    app.redisClock.now().then(async (now) => { await writeTally(Math.floor(now / 1000)) }).catch(() => {})
  }, TALLY_WRITE_MS).unref()
  app.addHook('preClose', async () => {
    clearInterval(tallyTimer)
    await writeTally(Infinity).catch(() => {})
  })

  /** `pending`, timed, and counted by why when it fails. */
  const measured = async <T>(call: RedisCall, pending: Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await pending
    } catch (err) {
      metrics.redisErrors.inc({ call, kind: failureKind(err) })
      throw err
    } finally {
      metrics.redisCallSeconds.observe({ call }, (performance.now() - started) / 1000)
    }
  }

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
    const reply = await measured('count_hits', app.redis.countHits(
      TOTAL_KEY, PER_WORKER_KEY, RECENT_KEY, opts.hostname, deadline, ID_WINDOW_SECONDS, ID_WINDOW_PREFIX, RECENT_HITS, ...hitIds
    ))
    if (reply === null) {
      metrics.redisErrors.inc({ call: 'count_hits', kind: 'late' })
      throw new CounterUnavailableError(new Error('Redis ran the count after the hits\' deadline'))
    }
    // This worker's hits, read from the reply before WAIT (Redis's total holds them whatever the replicas say):
    // those counted now, and, after a lost reply, those that try counted; each id once, over all the tries.
    const reportedBefore = reported.size
    hitIds.forEach((id, i) => { if (reply[3 * i + 2] === 1 || (earlierTryMayHaveRun && reply[3 * i + 2] === 2)) reported.add(id) })
    metrics.hitsCounted.inc(reported.size - reportedBefore)
    tally.add(Math.floor(await app.redisClock.now() / 1000), reported.size - reportedBefore)
    metrics.hitsPerCall.observe(hitIds.length)
    if (opts.minReplicas > 0) {
      const acked = await measured('wait', app.redis.wait(opts.minReplicas, Math.max(1, Math.ceil(budgetEnds - performance.now()))))
      if (acked < opts.minReplicas) {
        metrics.redisErrors.inc({ call: 'wait', kind: 'replicas' })
        throw new CounterUnavailableError(new Error(`${acked} of ${opts.minReplicas} replicas confirmed the count in time`))
      }
    }
    return hitIds.map((_, i) => ({ total: reply[3 * i]!, worker: reply[3 * i + 1]! }))
  }

  // A batch is tried until it is answered or its budget (REDIS_TIMEOUT_MS) is
  // spent: a lost reply, a restarted Redis or a failover inside the budget
  // costs no hit. Every try carries the same ids and the same deadline, so a
  // batch is counted at most once, and never after its hits were answered 503.
  const countBatch = async (hitIds: readonly string[]): Promise<CountedHit[]> => {
    const budgetEnds = performance.now() + opts.timeoutMs
    // Away for longer than a hit may wait: answer now instead of waiting for nothing.
    unlessAwayTooLong()
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
        if (!worthRetrying(err) || performance.now() + RETRY_PAUSE_MS >= budgetEnds) throw asAnswer(err)
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
    },
    async stats () {
      unlessAwayTooLong()
      // MULTI: the counts, the serving workers, the recent hits and Redis's clock, read at the same instant.
      const replies = await unlessUnavailable(measured('stats', app.redis.multi()
        .get(TOTAL_KEY).hgetall(PER_WORKER_KEY)
        .zrange(ALIVE_KEY, '0', '-1', 'WITHSCORES').hgetall(SLOTS_KEY).hgetall(NODES_KEY).time()
        .lrange(RECENT_KEY, 0, RECENT_HITS - 1)
        .exec()))
      const [total, workers, beats, slots, nodes, [seconds, micros], recent] = values(replies) as [
        string | null, Record<string, string>, string[], Record<string, string>, Record<string, string>, [string, string], string[]
      ]
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      const alive: string[] = []
      for (let i = 0; i < beats.length; i += 2) if (Number(beats[i + 1]) >= now - ALIVE_TTL_MS) alive.push(beats[i]!)
      return {
        total: Number(total ?? 0),
        workers: numbers(workers),
        serving: Object.fromEntries(alive.map((worker) => [worker, Number(slots[worker] ?? 0)])),
        nodes: Object.fromEntries(alive.map((worker) => [worker, nodes[worker] ?? 'unknown'])),
        now,
        // "number worker", as the script writes them (a hostname has no space).
        recent: recent.map((entry) => {
          const [hits, hostname = ''] = entry.split(' ')
          return { hostname, hits: Number(hits) }
        })
      }
    },
    async history () {
      unlessAwayTooLong()
      const now = await unlessUnavailable(app.redisClock.now())
      const last = Math.floor(now / 1000) - HISTORY_LAG_SECONDS
      const first = last - HISTORY_SECONDS + 1
      const reads = app.redis.multi()
      for (let second = first; second <= last; second++) reads.hgetall(`${SECOND_PREFIX}${second}`)
      const perSecond = values(await unlessUnavailable(measured('history', reads.exec()))) as Array<Record<string, string>>
      return { now, seconds: perSecond.map(numbers) }
    }
  })
}

export default fp(counterPlugin, { name: 'counter', dependencies: ['redis', 'metrics'] })
