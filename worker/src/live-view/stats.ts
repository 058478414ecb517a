import type { FastifyInstance } from 'fastify'
import type { StatsReply } from '../http/schemas.js'
import { ALIVE_KEY, NODES_KEY, PER_WORKER_KEY, RECENT_HITS, RECENT_KEY, SLOTS_KEY, TOTAL_KEY } from '../redis/keys.js'
import { measured, numbers, replyValues, unlessAwayTooLong, unlessUnavailable } from '../redis/calls.js'
import { ALIVE_TTL_MS } from './presence.js'

/** The counts, the serving workers, the recent hits and Redis's time: GET /stats, the page's poll. */
export async function readStats (app: FastifyInstance, timeoutMs: number): Promise<StatsReply> {
  unlessAwayTooLong(app, timeoutMs)
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
}
