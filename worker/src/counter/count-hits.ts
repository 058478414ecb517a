import { readFileSync } from 'node:fs'
import type { Result } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { PER_WORKER_KEY, RECENT_HITS, RECENT_KEY, TOTAL_KEY } from '../redis/keys.js'
import { CounterUnavailableError, measured } from '../redis/calls.js'
import { ID_WINDOW_OFFSETS, ID_WINDOW_PREFIX, ID_WINDOW_SECONDS } from './id-windows.js'

// The count's one Redis call: count-hits.lua, which counts each hit of a batch
// once by its id, and the shape of its reply.

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Null: refused (past the deadline), nothing counted. */
    countHits: (
      totalKey: string, perWorkerKey: string, recentKey: string, worker: string, deadline: number,
      windowSeconds: number, windowPrefix: string, windowOffsets: string, recentKept: number, ...hitIds: string[]
    ) => Result<number[] | null, Context>
  }
}

// worker/src/lua, which the build copies to dist/lua.
const COUNT_HITS = readFileSync(new URL('../lua/count-hits.lua', import.meta.url), 'utf8')
/** The windows the script looks in, as it takes them: one string, made once, not per batch. */
const WINDOW_OFFSETS = ID_WINDOW_OFFSETS.join(',')

/** Makes the script a command of the shared client: `app.redis.countHits`. */
export function defineCountHits (app: FastifyInstance): void {
  app.redis.defineCommand('countHits', { numberOfKeys: 3, lua: COUNT_HITS })
}

/** What counting one hit gave. */
export interface CountedHit {
  /** This hit's own number: the total once it was counted. */
  total: number
  /** How many hits this worker has served, this one included. */
  worker: number
}

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

/**
 * One call of the script: counts `hitIds` for the worker `hostname`, unless
 * Redis's clock has passed `deadline` (then a CounterUnavailableError, nothing counted).
 */
export async function countHits (
  app: FastifyInstance, hostname: string, deadline: number, hitIds: readonly string[]
): Promise<Array<CountedHit & { how: HowCounted }>> {
  const reply = await measured(app, 'count_hits', app.redis.countHits(
    TOTAL_KEY, PER_WORKER_KEY, RECENT_KEY, hostname, deadline, ID_WINDOW_SECONDS, ID_WINDOW_PREFIX, WINDOW_OFFSETS, RECENT_HITS, ...hitIds
  ))
  if (reply === null) {
    app.metrics.redisErrors.inc({ call: 'count_hits', kind: 'late' })
    throw new CounterUnavailableError(new Error('Redis ran the count after the hits\' deadline'))
  }
  return decodeCountReply(reply, hitIds.length)
}
