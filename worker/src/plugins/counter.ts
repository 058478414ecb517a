import fp from 'fastify-plugin'
import { ReplyError, type Result } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import type { StatsReply } from '../schemas.js'

/** What counting one hit gave. */
export interface CountedHit {
  /** This hit's own number: the value INCR returned. */
  total: number
  /** How many hits this worker has served, this one included. */
  worker: number
}

export interface Counter {
  hit: () => Promise<CountedHit>
  stats: () => Promise<StatsReply>
}

declare module 'fastify' {
  interface FastifyInstance {
    counter: Counter
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    countHit: (totalKey: string, perWorkerKey: string, lastSeenKey: string, worker: string, now: number) => Result<[number, number], Context>
  }
}

export const TOTAL_KEY = 'hits'
export const PER_WORKER_KEY = 'hits:by-worker'
export const LAST_SEEN_KEY = 'hits:last-seen'

// One script, so the total and the per-worker count move together: the total
// always equals the sum per worker, whatever happens between the two calls.
const COUNT_HIT = `
local total = redis.call('INCR', KEYS[1])
local worker = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return { total, worker }
`

/** Redis could not be reached in time: the hit was not counted, or may not have been. */
export class CounterUnavailableError extends Error {
  override name = 'CounterUnavailableError'
  readonly statusCode = 503
  constructor (cause: unknown) {
    super('counter unavailable: Redis is not reachable, try again shortly', { cause })
  }
}

/** Connection trouble becomes a 503; an error Redis itself replied with stays a bug (500). */
async function unlessUnavailable<T> (pending: Promise<T>): Promise<T> {
  try {
    return await pending
  } catch (err) {
    if (err instanceof ReplyError) throw err
    throw new CounterUnavailableError(err)
  }
}

const numbers = (hash: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, Number(value)]))

/** The hit counter in Redis, decorated as `app.counter`. */
async function counterPlugin (app: FastifyInstance, opts: { hostname: string }): Promise<void> {
  app.redis.defineCommand('countHit', { numberOfKeys: 3, lua: COUNT_HIT })

  app.decorate('counter', {
    async hit () {
      const [total, worker] = await unlessUnavailable(app.redis.countHit(TOTAL_KEY, PER_WORKER_KEY, LAST_SEEN_KEY, opts.hostname, Date.now()))
      return { total, worker }
    },
    async stats () {
      // MULTI: the total and the per-worker figures are read at the same instant.
      const replies = await unlessUnavailable(app.redis.multi().get(TOTAL_KEY).hgetall(PER_WORKER_KEY).hgetall(LAST_SEEN_KEY).exec())
      const [total, workers, lastSeen] = (replies ?? []).map(([err, value]) => {
        if (err !== null) throw err
        return value
      }) as [string | null, Record<string, string>, Record<string, string>]
      return { total: Number(total ?? 0), workers: numbers(workers), lastSeen: numbers(lastSeen), now: Date.now() }
    }
  })
}

export default fp(counterPlugin, { name: 'counter', dependencies: ['redis'] })
