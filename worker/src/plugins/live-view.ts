import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { HistoryReply, StatsReply } from '../schemas.js'
import { ALIVE_TTL_MS } from './presence.js'
import { ALIVE_KEY, NODES_KEY, PER_WORKER_KEY, RECENT_KEY, SLOTS_KEY, TOTAL_KEY } from '../keys.js'
import { SecondTally } from '../second-tally.js'
import { measured, replyValues, unlessAwayTooLong, unlessUnavailable } from '../redis-calls.js'

/** What the live view reads and keeps, apart from the count itself (counter.ts). */
export interface LiveView {
  /** The counts, the serving workers, the recent hits, Redis's time: GET /stats, the page's poll. */
  stats: () => Promise<StatsReply>
  /** Each worker's hits in each of the last seconds: the page's first paint. */
  history: () => Promise<HistoryReply>
  /** `hits` this worker just counted, for its part of the history. */
  counted: (hits: number) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    liveView: LiveView
  }
}

/** How many of the most recent hits RECENT_KEY keeps (the count's script writes them: count-hits.lua). */
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

const numbers = (hash: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, Number(value)]))

/** The live view's reads and this worker's hits per second, decorated as `app.liveView`. */
async function liveViewPlugin (app: FastifyInstance, opts: { hostname: string, timeoutMs: number }): Promise<void> {
  // This worker's hits per second, written once a second (one call, none while
  // idle) rather than by every batch's script.
  const tally = new SecondTally()
  const secondKey = (second: number): string => `${SECOND_PREFIX}${second}`
  const writeTally = async (current: number): Promise<void> => {
    if (app.redis.status !== 'ready') return
    const done = tally.takeBefore(current, Math.floor(await app.redisClock.now() / 1000) - HISTORY_SECONDS)
    if (done.length === 0) return
    const writes = app.redis.multi()
    for (const [second, hits] of done) writes.hincrby(secondKey(second), opts.hostname, hits).expire(secondKey(second), HISTORY_SECONDS + 5, 'NX')
    // Not written (Redis went away, or a failover): written with the next second's.
    const written = await writes.exec().then((replies) => { replyValues(replies); return true }).catch(() => false)
    if (!written) tally.putBack(done)
  }
  const timer = setInterval(() => {
    app.redisClock.now().then(async (now) => { await writeTally(Math.floor(now / 1000)) }).catch(() => {})
  }, TALLY_WRITE_MS).unref()
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await writeTally(Infinity).catch(() => {})
  })

  app.decorate('liveView', {
    counted (hits) {
      if (hits > 0) app.redisClock.now().then((now) => { tally.add(Math.floor(now / 1000), hits) }).catch(() => {})
    },
    async stats () {
      unlessAwayTooLong(app, opts.timeoutMs)
      // MULTI: the counts, the serving workers, the recent hits and Redis's clock, read at the same instant.
      const replies = await unlessUnavailable(measured(app, 'stats', app.redis.multi()
        .get(TOTAL_KEY).hgetall(PER_WORKER_KEY)
        .zrange(ALIVE_KEY, '0', '-1', 'WITHSCORES').hgetall(SLOTS_KEY).hgetall(NODES_KEY).time()
        .lrange(RECENT_KEY, 0, RECENT_HITS - 1)
        .exec()))
      const [total, workers, beats, slots, nodes, [seconds, micros], recent] = replyValues(replies) as [
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
      unlessAwayTooLong(app, opts.timeoutMs)
      const now = await unlessUnavailable(app.redisClock.now())
      const last = Math.floor(now / 1000) - HISTORY_LAG_SECONDS
      const first = last - HISTORY_SECONDS + 1
      const reads = app.redis.multi()
      for (let second = first; second <= last; second++) reads.hgetall(secondKey(second))
      const perSecond = replyValues(await unlessUnavailable(measured(app, 'history', reads.exec()))) as Array<Record<string, string>>
      return { now, seconds: perSecond.map(numbers) }
    }
  })
}

export default fp(liveViewPlugin, { name: 'live-view', dependencies: ['redis', 'metrics'] })
