import { hostname } from 'node:os'
import envSchema from 'env-schema'

export interface Config {
  /** Address and port the worker listens on. */
  HOST: string
  PORT: number
  REDIS_URL: string
  /** Comma-separated host:port of Redis Sentinels; when set, the primary is found through them and REDIS_URL is not used. */
  REDIS_SENTINELS: string
  /** The name the sentinels monitor the primary under. */
  REDIS_PRIMARY_NAME: string
  /** A hit is answered 200 only once this many replicas have its count (Redis WAIT); 0 with a lone Redis. */
  REDIS_MIN_REPLICAS: number
  /** Shown in every answer; Docker sets it to the container id. */
  HOSTNAME: string
  /** The machine this worker runs on, shown in /stats and the live view (Swarm: {{.Node.Hostname}}). */
  NODE_NAME: string
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** How long a hit may wait for Redis (a stall is ridden out) before it answers 503, uncounted. */
  REDIS_TIMEOUT_MS: number
  /** How long SIGTERM may wait for in-flight requests before the process exits anyway. */
  SHUTDOWN_GRACE_MS: number
}

const DNS_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$'

const schema = {
  type: 'object',
  properties: {
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 3000 },
    REDIS_URL: { type: 'string', pattern: '^rediss?://[^\\s/?#]+', default: 'redis://redis:6379' },
    REDIS_SENTINELS: { type: 'string', pattern: '^$|^[A-Za-z0-9._-]+:[0-9]{1,5}(,[A-Za-z0-9._-]+:[0-9]{1,5})*$', default: '' },
    REDIS_PRIMARY_NAME: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'hitcounter' },
    REDIS_MIN_REPLICAS: { type: 'integer', minimum: 0, maximum: 16, default: 0 },
    // Sent in a header and shown in the page: a DNS-style name only.
    HOSTNAME: { type: 'string', pattern: DNS_NAME, default: hostname() },
    NODE_NAME: { type: 'string', pattern: DNS_NAME, default: 'local' },
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info'
    },
    REDIS_TIMEOUT_MS: { type: 'integer', minimum: 50, maximum: 60000, default: 2000 },
    SHUTDOWN_GRACE_MS: { type: 'integer', minimum: 0, maximum: 600000, default: 10000 }
  }
} as const

export class ConfigError extends Error {
  override name = 'ConfigError'
}

interface SchemaError {
  instancePath: string
  message?: string
}

/**
 * Reads and validates the configuration once, at start. A bad value throws a
 * ConfigError whose one-line message names the variable and the value given.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return envSchema<Config>({ schema, data: env, env: false })
  } catch (err) {
    const first = (err as { errors?: SchemaError[] }).errors?.[0]
    if (first === undefined) throw err
    const name = first.instancePath.replace(/^\//, '')
    throw new ConfigError(`invalid configuration: ${name} ${first.message ?? 'is invalid'} (got ${JSON.stringify(env[name])})`)
  }
}
