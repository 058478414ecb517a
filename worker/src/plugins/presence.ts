import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Result } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    presence: Presence
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    announceWorker: (aliveKey: string, slotsKey: string, worker: string, now: number, ttlMs: number) => Result<number, Context>
  }
}

export interface Presence {
  /** This worker's colour slot: the same on every page, distinct from the other serving workers' (null until known). */
  slot: () => number | null
}

export const ALIVE_KEY = 'workers:alive'
export const SLOTS_KEY = 'workers:colour-slot'
/** A worker says it is alive this often, and is taken for gone after three missed beats. */
export const BEAT_MS = 5000
export const ALIVE_TTL_MS = 3 * BEAT_MS

// One script: forget workers whose beats stopped (a crash), mark this one
// alive, and give it the lowest colour slot no other serving worker holds, kept
// for as long as it serves. KEYS: alive (zset, score = last beat), slots (hash).
const ANNOUNCE = `
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
local used, slot = {}, nil
local slots = redis.call('HGETALL', KEYS[2])
for i = 1, #slots, 2 do
  local worker, held = slots[i], tonumber(slots[i + 1])
  if worker == ARGV[1] then slot = held
  elseif redis.call('ZSCORE', KEYS[1], worker) then used[held] = true
  else redis.call('HDEL', KEYS[2], worker) end
end
if slot == nil then
  slot = 0
  while used[slot] do slot = slot + 1 end
  redis.call('HSET', KEYS[2], ARGV[1], slot)
end
return slot
`

/**
 * Which workers serve now, for the live view: each worker beats every 5 s (one
 * Redis call, nothing else while idle) and leaves at once when it starts to
 * drain; a worker that dies without leaving is forgotten after 15 s.
 */
async function presencePlugin (app: FastifyInstance, opts: { hostname: string }): Promise<void> {
  app.redis.defineCommand('announceWorker', { numberOfKeys: 2, lua: ANNOUNCE })
  let slot: number | null = null
  const beat = async (): Promise<void> => {
    try {
      slot = await app.redis.announceWorker(ALIVE_KEY, SLOTS_KEY, opts.hostname, Date.now(), ALIVE_TTL_MS)
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
    await app.redis.multi().zrem(ALIVE_KEY, opts.hostname).hdel(SLOTS_KEY, opts.hostname).exec().catch(() => null)
  })
}

export default fp(presencePlugin, { name: 'presence', dependencies: ['redis'] })
