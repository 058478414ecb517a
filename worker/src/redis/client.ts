import { Redis, type RedisOptions } from 'ioredis'

export interface RedisPluginOptions {
  /** A lone Redis (Compose), used when no sentinels are given. */
  url: string
  /** Sentinels ("host:port", …) that name the current primary (Swarm, Kubernetes with replicas). */
  sentinels: string
  primaryName: string
  /** The ACL user and its password, for Redis and the sentinels; empty: the URL's, or none. */
  username: string
  password: string
  /** Upper bound for one command, so a hung Redis turns into a quick 503. */
  timeoutMs: number
}

const CONNECT_TIMEOUT_MS = 1000

/** The longest wait between two reconnect attempts: a Redis that is back is found within it. */
export const RECONNECT_DELAY_MAX_MS = 500

/** Delay before each reconnect attempt: quick at first (a restarted Redis is back within a second), then twice a second. */
function reconnectDelay (attempt: number): number {
  return Math.min(attempt * 50, RECONNECT_DELAY_MAX_MS)
}

const sentinelList = (sentinels: string): Array<{ host: string, port: number }> =>
  sentinels.split(',').map((entry) => {
    const [host, port] = entry.split(':')
    return { host: host!, port: Number(port) }
  })

/** The errors after which Redis may answer again once the client reconnects (a failover, a demoted primary). */
const AFTER_RECONNECT = /^(READONLY|LOADING|MASTERDOWN)/

/** The client, for a lone Redis at `url` or, when sentinels are given, for the primary they name. */
export function createClient (opts: RedisPluginOptions): Redis {
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
    // No auto-pipelining: the counter batches hits itself (counter/plugin.ts).
  } satisfies RedisOptions
  // Given only when set, so a REDIS_URL with its own user and password keeps them.
  const login = {
    ...(opts.username === '' ? {} : { username: opts.username }),
    ...(opts.password === '' ? {} : { password: opts.password })
  }
  return opts.sentinels === ''
    ? new Redis(opts.url, { ...common, ...login })
    : new Redis({
      ...common,
      ...login,
      // The sentinels know the workers' user by the same password (redis/acl.sh).
      sentinelUsername: login.username,
      sentinelPassword: login.password,
      sentinels: sentinelList(opts.sentinels),
      name: opts.primaryName,
      // Reconnect as soon as a sentinel announces a new primary, instead of
      // waiting for a dead primary's connection to time out.
      failoverDetector: true,
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: 1000
    })
}
