import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { createClient, type RedisPluginOptions } from './client.js'
import { CLOCK_SYNC_MS, RedisClock } from './clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    redisClock: RedisClock
    /** How long Redis has been unreachable, in ms (0 while connected). */
    redisAwayMs: () => number
    /** Rejects when the connection in use now closes: what was sent on it and not yet answered is lost. */
    redisLost: () => Promise<never>
  }
}

/** A promise that rejects when `lose` is called, and never resolves. */
function loss (): { promise: Promise<never>, lose: () => void } {
  let lose = (): void => {}
  const promise = new Promise<never>((_resolve, reject) => {
    lose = () => { reject(new Error('the connection to Redis closed before it answered')) }
  })
  promise.catch(() => {})
  return { promise, lose }
}

/** The connection's state as the plugin decorates it: `app.redisAwayMs()`, `app.redisLost()`. */
interface ConnectionState {
  awayMs: () => number
  lost: () => Promise<never>
}

/**
 * Follows the connection: since when Redis is away, Redis's clock read again
 * on every (re)connect, and the loss of the connection in use.
 */
function followConnection (app: FastifyInstance, redis: Redis, clock: RedisClock): ConnectionState {
  // Log state changes once each, not every failed reconnect attempt.
  let awaySince: number | null = performance.now()
  redis.on('ready', () => {
    awaySince = null
    app.log.info('redis connected')
    clock.sync().catch((err: Error) => { app.log.debug({ reason: err.message }, 'reading Redis\'s clock failed') })
  })
  // ioredis resends nothing after a reconnect and drops, unsettled, what was
  // in flight: each close settles the promise that the tries on that
  // connection race against, and a new one stands for the next connection.
  let lost = loss()
  redis.on('close', () => {
    const gone = lost
    lost = loss()
    gone.lose()
    if (awaySince !== null) return
    awaySince = performance.now()
    app.log.warn('redis connection lost; reconnecting')
  })
  redis.on('error', (err: Error) => { app.log.debug({ reason: err.message }, 'redis error') })
  // A sentinel that cannot be reached (its node lost): the failover detector's
  // connections to it report here (patches/ioredis+6.0.0.patch), not to stderr.
  redis.on('sentinelError', (err: Error) => { app.log.debug({ reason: err.message }, 'sentinel unreachable') })
  return {
    awayMs: () => awaySince === null ? 0 : performance.now() - awaySince,
    lost: () => lost.promise
  }
}

/**
 * ioredis gives up for good ("end") when a sentinel announces a new primary
 * while it is still looking for one (its failover detector stops the search
 * under way, seen in the swarm lab after a node was lost): look again, until
 * the app closes. Returns what stops that.
 */
function connectAgainWhenGivenUp (app: FastifyInstance, redis: Redis): () => void {
  let closing = false
  redis.on('end', () => {
    if (closing) return
    app.log.warn('redis client gave up; connecting again')
    setTimeout(() => { if (!closing && redis.status === 'end') redis.connect().catch(() => {}) }, 100).unref()
  })
  return () => { closing = true }
}

/**
 * One shared ioredis client, decorated as `app.redis` and closed with the app.
 * A command is never sent twice by ioredis itself (no resend after a
 * reconnect, no retries): the counter decides what to try again, by hit id,
 * and learns from `app.redisLost()` that a try's connection is gone.
 * While Redis is away, commands wait in the offline queue for the reconnect,
 * bounded by the command timeout, so a restart or a failover shorter than a
 * hit's budget is ridden out.
 */
async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions): Promise<void> {
  const redis = createClient(opts)
  const clock = new RedisClock(redis)
  const connection = followConnection(app, redis, clock)
  const stopConnectingAgain = connectAgainWhenGivenUp(app, redis)
  const timer = setInterval(() => {
    if (redis.status === 'ready') clock.sync().catch(() => {})
  }, CLOCK_SYNC_MS).unref()

  app.decorate('redis', redis)
  app.decorate('redisClock', clock)
  app.decorate('redisAwayMs', connection.awayMs)
  app.decorate('redisLost', connection.lost)
  app.addHook('onClose', async () => {
    stopConnectingAgain()
    clearInterval(timer)
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
    else redis.disconnect()
  })
}

export default fp(redisPlugin, { name: 'redis' })
