import fp from 'fastify-plugin'
import { ReplyError, type Result } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import type { StatsReply } from '../schemas.js'
import { ALIVE_KEY, ALIVE_TTL_MS, SLOTS_KEY } from './presence.js'

/** What counting one hit gave. */
export interface CountedHit {
  /** This hit's own number: the value INCR returned. */
  total: number
  /** How many hits this worker has served, this one included. */
  worker: number
}

export interface Counter {
  /** Counts the hit whose every try carries `hitId`: once, however often it is tried. */
  hit: (hitId: string) => Promise<CountedHit>
  stats: () => Promise<StatsReply>
}

declare module 'fastify' {
  interface FastifyInstance {
    counter: Counter
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    countHit: (
      totalKey: string, perWorkerKey: string, hitKey: string,
      worker: string, rememberSeconds: number, deadline: number
    ) => Result<[number, number], Context>
  }
}

export const TOTAL_KEY = 'hits'
export const PER_WORKER_KEY = 'hits:by-worker'
/** Where a hit's number and the worker credited with it are kept for a while, by the hit's id. */
export const hitKey = (hitId: string): string => `hits:id:${hitId}`
/**
 * How long a hit's id is remembered. Every try of a hit falls within nginx's
 * retry window (6 s) of the first, and a script queued in a stalled Redis runs
 * when it wakes: 30 s is well past both.
 */
export const REMEMBER_HIT_SECONDS = 30

// One script, so the total and the per-worker count move together: the total
// always equals the sum per worker, whatever happens between the calls.
// - A hit is counted once by its id: a repeat (nginx tried it again on another
//   worker after the first had counted it) answers the same number, and the
//   per-worker credit moves to the worker answering now, the one the client sees.
// - A script that runs after the worker's deadline (it waited in a stalled
//   Redis while the worker answered 503) counts nothing, so a hit answered 503
//   is never counted later.
// KEYS: total, per-worker hash, this hit's id.
// ARGV: worker, seconds to remember the id, deadline (ms, Redis's clock).
const COUNT_HIT = `
local time = redis.call('TIME')
if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > tonumber(ARGV[3]) then
  return { -1, -1 }
end
local seen = redis.call('GET', KEYS[3])
if seen then
  local total, credited = string.match(seen, '^(%d+) (.+)$')
  if credited ~= ARGV[1] then
    redis.call('HINCRBY', KEYS[2], credited, -1)
    redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
    redis.call('SET', KEYS[3], total .. ' ' .. ARGV[1], 'KEEPTTL')
  end
  return { tonumber(total), tonumber(redis.call('HGET', KEYS[2], ARGV[1])) }
end
local total = redis.call('INCR', KEYS[1])
local worker = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('SET', KEYS[3], total .. ' ' .. ARGV[1], 'EX', ARGV[2])
return { total, worker }
`

/** Redis could not count the hit in time: it was not counted, and never will be. */
export class CounterUnavailableError extends Error {
  override name = 'CounterUnavailableError'
  readonly statusCode = 503
  constructor (cause: unknown) {
    super('counter unavailable: Redis is not reachable, try again shortly', { cause })
  }
}

export interface CounterOptions {
  hostname: string
  /** How long a hit may wait for Redis; the script refuses to count it after that. */
  timeoutMs: number
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
async function counterPlugin (app: FastifyInstance, opts: CounterOptions): Promise<void> {
  app.redis.defineCommand('countHit', { numberOfKeys: 3, lua: COUNT_HIT })

  app.decorate('counter', {
    async hit (hitId) {
      const [total, worker] = await unlessUnavailable(app.redis.countHit(
        TOTAL_KEY, PER_WORKER_KEY, hitKey(hitId), opts.hostname, REMEMBER_HIT_SECONDS, Date.now() + opts.timeoutMs
      ))
      if (total < 0) throw new CounterUnavailableError(new Error('Redis ran the count after the hit\'s deadline'))
      return { total, worker }
    },
    async stats () {
      // MULTI: the counts and the serving workers are read at the same instant.
      const now = Date.now()
      const replies = await unlessUnavailable(app.redis.multi()
        .get(TOTAL_KEY).hgetall(PER_WORKER_KEY)
        .zrangebyscore(ALIVE_KEY, now - ALIVE_TTL_MS, '+inf').hgetall(SLOTS_KEY)
        .exec())
      const [total, workers, alive, slots] = (replies ?? []).map(([err, value]) => {
        if (err !== null) throw err
        return value
      }) as [string | null, Record<string, string>, string[], Record<string, string>]
      const serving = Object.fromEntries(alive.map((worker) => [worker, Number(slots[worker] ?? 0)]))
      return { total: Number(total ?? 0), workers: numbers(workers), serving, now }
    }
  })
}

export default fp(counterPlugin, { name: 'counter', dependencies: ['redis'] })
