import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

export interface RedisPluginOptions {
  url: string
  /** Upper bound for one command, so a hung Redis turns into a quick 503. */
  timeoutMs: number
}

/** Delay before each reconnect attempt: quick at first, then once a second. */
function reconnectDelay (attempt: number): number {
  return Math.min(attempt * 100, 1000)
}

/**
 * One shared ioredis client, decorated as `app.redis` and closed with the app.
 * A hit must fail fast while Redis is away instead of waiting in ioredis's
 * offline queue, and a command must never be sent twice, since INCR is not
 * idempotent: hence no offline queue, no resend after reconnect, no retries.
 */
async function redisPlugin (app: FastifyInstance, opts: RedisPluginOptions): Promise<void> {
  const redis = new Redis(opts.url, {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.timeoutMs,
    connectTimeout: Math.max(opts.timeoutMs, 1000),
    retryStrategy: reconnectDelay
    // No auto-pipelining: with several workers each one has few hits per tick
    // to batch, and the batching cost more than it saved (docs/benchmark.md).
  })

  // Log state changes once each, not every failed reconnect attempt.
  let connected = false
  redis.on('ready', () => {
    connected = true
    app.log.info('redis connected')
  })
  redis.on('close', () => {
    if (!connected) return
    connected = false
    app.log.warn('redis connection lost; reconnecting')
  })
  redis.on('error', (err: Error) => { app.log.debug({ reason: err.message }, 'redis error') })

  app.decorate('redis', redis)
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
}

export default fp(redisPlugin, { name: 'redis' })
