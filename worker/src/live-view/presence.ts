import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Result } from 'ioredis'
import { ALIVE_KEY, EARLIER_WORKERS, NODES_KEY, PER_WORKER_KEY, SEEN_KEY, SLOTS_KEY } from '../redis/keys.js'

declare module 'fastify' {
  interface FastifyInstance {
    presence: Presence
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    announceWorker: (
      aliveKey: string, slotsKey: string, nodesKey: string, seenKey: string, perWorkerKey: string,
      worker: string, node: string, ttlMs: number, foldAfterMs: number, earlier: string
    ) => Result<number, Context>
  }
}

export interface Presence {
  /** This worker's colour slot: the same on every page, distinct from the other serving workers' (null until known). */
  slot: () => number | null
}

/** A worker says it is alive this often, and is taken for gone after three missed beats. */
export const BEAT_MS = 5000
export const ALIVE_TTL_MS = 3 * BEAT_MS
// worker/src/lua, which the build copies to dist/lua.
const ANNOUNCE = readFileSync(new URL('../lua/announce.lua', import.meta.url), 'utf8')

/**
 * Which workers serve now, for the live view: each worker beats every 5 s (one
 * Redis call, nothing else while idle) and leaves at once when it starts to
 * drain; a worker that dies without leaving is forgotten after 15 s, and its
 * count folded into "earlier workers" `foldAfterMs` (FOLD_AFTER_MS, an hour
 * by default) after its last beat: /stats stays the size of the workers there are.
 */
async function presencePlugin (app: FastifyInstance, opts: { hostname: string, node: string, foldAfterMs: number }): Promise<void> {
  app.redis.defineCommand('announceWorker', { numberOfKeys: 5, lua: ANNOUNCE })
  let slot: number | null = null
  const beat = async (): Promise<void> => {
    if (app.redis.status !== 'ready') return
    try {
      slot = await app.redis.announceWorker(
        ALIVE_KEY, SLOTS_KEY, NODES_KEY, SEEN_KEY, PER_WORKER_KEY, opts.hostname, opts.node, ALIVE_TTL_MS, opts.foldAfterMs, EARLIER_WORKERS
      )
    } catch (err) {
      app.log.debug({ reason: (err as Error).message }, 'presence beat failed')
    }
  }
  const timer = setInterval(() => { beat().catch(() => {}) }, BEAT_MS).unref()
  // At once whenever Redis (re)connects, so a new worker shows from its first second.
  app.redis.on('ready', () => { beat().catch(() => {}) })
  if (app.redis.status === 'ready') await beat()

  app.decorate('presence', { slot: () => slot })
  app.addHook('preClose', async () => {
    clearInterval(timer)
    // Not while Redis is away: a crash's 15 s do the same, and shutdown need not wait.
    if (app.redis.status !== 'ready') return
    await app.redis.multi().zrem(ALIVE_KEY, opts.hostname).hdel(SLOTS_KEY, opts.hostname).hdel(NODES_KEY, opts.hostname).exec().catch(() => null)
  })
}

export default fp(presencePlugin, { name: 'presence', dependencies: ['redis'] })
