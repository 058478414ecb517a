import fp from 'fastify-plugin'
import { Redis, type RedisOptions } from 'ioredis'
import type { FastifyInstance } from 'fastify'

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

export interface RedisPluginOptions {
  /** A lone Redis (Compose), used when no sentinels are given. */
  url: string
  /** Sentinels ("host:port", …) that name the current primary (Swarm, Kubernetes with replicas). */
  sentinels: string
  primaryName: string
  /** Upper bound for one command, so a hung Redis turns into a quick 503. */
  timeoutMs: number
}

const CONNECT_TIMEOUT_MS = 1000
/** How often this worker reads Redis's clock again (it drifts by milliseconds a day, not more). */
const CLOCK_SYNC_MS = 10000

/**
 * Redis's clock as seen from this process: Redis's TIME against this process's
 * monotonic clock, taken as read at the end of its round trip, the latest it can
 * have been read: so Redis's clock is never taken to be ahead of where it is,
 * and a deadline set on it is never later than meant, even when Redis answered
 * after a stall (a read that took 400 ms, taken at its midpoint, set a deadline
 * 187 ms late). A quick read is off by no more than its round trip. No clock
 * needs to agree with another. Read again on every (re)connect: after a
 * failover the primary is another machine, with a clock of its own.
 */
export class RedisClock {
  private offsetMs: number | undefined

  constructor (private readonly redis: Redis) {}

  async sync (): Promise<void> {
    const [seconds, micros] = await this.redis.time()
    this.offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - performance.now()
  }

  /** Now on Redis's clock, in ms since the epoch; read first when it was never read. */
  async now (): Promise<number> {
    const offset = await this.offset()
    return performance.now() + offset
  }

  /**
   * `instant` (a performance.now() reading) on Redis's clock: the same moment
   * however long the first read takes, so a deadline set this way never moves.
   */
  async at (instant: number): Promise<number> {
    return instant + await this.offset()
  }

  private async offset (): Promise<number> {
    if (this.offsetMs === undefined) await this.sync()
    return this.offsetMs!
  }
}

/** The longest wait between two reconnect attempts: a Redis that is back is found within it. */
export const RECONNECT_DELAY_MAX_MS = 500

/** Delay before each reconnect attempt: quick at first (a restarted Redis is back within a second), then twice a second. */
function reconnectDelay (attempt: number): number {
  return Math.min(attempt * 50, RECONNECT_DELAY_MAX_MS)
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

const sentinelList = (sentinels: string): Array<{ host: string, port: number }> =>
  sentinels.split(',').map((entry) => {
    const [host, port] = entry.split(':')
    return { host: host!, port: Number(port) }
  })

/** The errors after which Redis may answer again once the client reconnects (a failover, a demoted primary). */
const AFTER_RECONNECT = /^(READONLY|LOADING|MASTERDOWN)/

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
  const common = {
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: null,
    commandTimeout: opts.timeoutMs,
    // A connection that answers nothing for a whole budget is taken for dead
    // (a hung Redis, or a node gone without a word) and made anew, so hits then
    // fail fast instead of each waiting its whole budget.
    socketTimeout: opts.timeoutMs,
    // Short, for the sentinels' sake too: one on a node that is gone must not
    // hold up finding the primary through another (a connect here takes ms).
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    // A primary demoted while connected answers READONLY: find the new one.
    reconnectOnError: (err: Error) => AFTER_RECONNECT.test(err.message) ? 1 as const : false
    // No auto-pipelining: the counter batches hits itself (counter.ts).
  } satisfies RedisOptions
  const redis = opts.sentinels === ''
    ? new Redis(opts.url, common)
    : new Redis({
      ...common,
      sentinels: sentinelList(opts.sentinels),
      name: opts.primaryName,
      // Reconnect as soon as a sentinel announces a new primary, instead of
      // waiting for a dead primary's connection to time out.
      failoverDetector: true,
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: 1000
    })
  const clock = new RedisClock(redis)

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
  // ioredis gives up for good ("end") when a sentinel announces a new primary
  // while it is still looking for one (its failover detector stops the search
  // under way, seen in the swarm lab after a node was lost): look again.
  let closing = false
  redis.on('end', () => {
    if (closing) return
    app.log.warn('redis client gave up; connecting again')
    setTimeout(() => { if (!closing && redis.status === 'end') redis.connect().catch(() => {}) }, 100).unref()
  })
  const timer = setInterval(() => {
    if (redis.status === 'ready') clock.sync().catch(() => {})
  }, CLOCK_SYNC_MS).unref()

  app.decorate('redis', redis)
  app.decorate('redisClock', clock)
  app.decorate('redisAwayMs', () => awaySince === null ? 0 : performance.now() - awaySince)
  app.decorate('redisLost', () => lost.promise)
  app.addHook('onClose', async () => {
    closing = true
    clearInterval(timer)
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
    else redis.disconnect()
  })
}

export default fp(redisPlugin, { name: 'redis' })
