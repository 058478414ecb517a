import fp from 'fastify-plugin'
import DataLoader from 'dataloader'
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
    /** Null: refused (past the deadline), nothing counted. */
    countHits: (
      totalKey: string, perWorkerKey: string, worker: string, deadline: number,
      windowSeconds: number, windowPrefix: string, ...hitIds: string[]
    ) => Result<number[] | null, Context>
  }
}

export const TOTAL_KEY = 'hits'
export const PER_WORKER_KEY = 'hits:by-worker'
/**
 * The hits' ids are remembered in one hash per window of this many seconds
 * (Redis's clock), field = id, value = "number worker". A try looks in the
 * current window and the one before, so an id is found for at least this long
 * after it was counted: every try of a hit falls within 8 s of the first
 * (nginx's 6 s retry window, then at most REDIS_TIMEOUT_MS of the last try).
 */
export const ID_WINDOW_SECONDS = 10
const ID_WINDOW_PREFIX = 'hits:ids:'
/** Where the ids counted in the window that holds `unixSeconds` are kept; the hash goes 2 windows after it began. */
export const idWindowKey = (unixSeconds: number): string => `${ID_WINDOW_PREFIX}${Math.floor(unixSeconds / ID_WINDOW_SECONDS)}`
/** At most this many hits in one script call, so one call never holds Redis long. */
export const MAX_HITS_PER_CALL = 64

// One script for all the hits a worker read in one turn of its event loop, so
// the total and the per-worker counts move together (the total always equals
// the sum per worker), and Redis pays its per-call cost (a wake-up, a read, a
// write, the script's start) once per batch instead of once per hit. Whole
// windows of ids expire at once: no expiry, and no DEL in the AOF, per hit.
// - A hit is counted once by its id: a repeat (nginx tried it again on another
//   worker after the first had counted it, or it came twice in one batch)
//   answers the number it got before, and the per-worker credit moves to the
//   worker answering now, the one the client sees.
// - A script that runs after the batch's deadline (it waited in a stalled
//   Redis while the worker answered 503) counts nothing, so a hit answered 503
//   is never counted later.
// KEYS: total, per-worker hash (the windows' keys come from Redis's clock, so
// the script names them itself: fine on one Redis, not on a cluster).
// ARGV: worker, deadline (ms, Redis's clock), window seconds, window key
// prefix, then the hits' ids. Returns {number, worker's count} for each hit in
// turn, flat; nil when refused.
const COUNT_HITS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1])
if now * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[2]) then return nil end
local worker, width, prefix = ARGV[1], tonumber(ARGV[3]), ARGV[4]
local window = math.floor(now / width)
local current, previous = prefix .. window, prefix .. (window - 1)
local ids = { unpack(ARGV, 5) }
local inCurrent = redis.call('HMGET', current, unpack(ids))
local inPrevious = redis.call('HMGET', previous, unpack(ids))
local known, where, fresh = {}, {}, {}
for i, id in ipairs(ids) do
  if known[id] == nil then
    known[id] = inCurrent[i] or inPrevious[i]
    where[id] = inCurrent[i] and current or previous
    if not known[id] then fresh[#fresh + 1] = i end
  end
end
local answers = {}
if #fresh > 0 then
  local last = redis.call('INCRBY', KEYS[1], #fresh)
  local mine = redis.call('HINCRBY', KEYS[2], worker, #fresh)
  local fields = {}
  for n, i in ipairs(fresh) do
    local total = last - #fresh + n
    known[ids[i]], where[ids[i]] = total .. ' ' .. worker, current
    fields[2 * n - 1], fields[2 * n] = ids[i], known[ids[i]]
    answers[2 * i - 1], answers[2 * i] = total, mine - #fresh + n
  end
  redis.call('HSET', current, unpack(fields))
  redis.call('EXPIRE', current, 2 * width, 'NX')
end
for i, id in ipairs(ids) do
  if answers[2 * i - 1] == nil then
    local total, credited = string.match(known[id], '^(%d+) (.+)$')
    if credited ~= worker then
      redis.call('HINCRBY', KEYS[2], credited, -1)
      redis.call('HINCRBY', KEYS[2], worker, 1)
      known[id] = total .. ' ' .. worker
      redis.call('HSET', where[id], id, known[id])
    end
    answers[2 * i - 1], answers[2 * i] = tonumber(total), tonumber(redis.call('HGET', KEYS[2], worker))
  end
end
return answers
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
  app.redis.defineCommand('countHits', { numberOfKeys: 2, lua: COUNT_HITS })

  const countBatch = async (hitIds: readonly string[]): Promise<CountedHit[]> => {
    const reply = await unlessUnavailable(app.redis.countHits(
      TOTAL_KEY, PER_WORKER_KEY, opts.hostname, Date.now() + opts.timeoutMs, ID_WINDOW_SECONDS, ID_WINDOW_PREFIX, ...hitIds
    ))
    if (reply === null) throw new CounterUnavailableError(new Error('Redis ran the count after the hits\' deadline'))
    return hitIds.map((_, i) => ({ total: reply[2 * i]!, worker: reply[2 * i + 1]! }))
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
