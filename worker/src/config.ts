import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { Type, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ID_WINDOW_LIFE_MS } from './counter/id-windows.js'

export interface Config {
  /** Address and port the worker listens on. */
  HOST: string
  PORT: number
  REDIS_URL: string
  /** The Redis user the worker logs in as (its ACL user, "worker"); empty: the URL's, or none. */
  REDIS_USERNAME: string
  /** A file holding that user's password (a Docker or Kubernetes secret); empty: the URL's, or none. */
  REDIS_PASSWORD_FILE: string
  /** Read from REDIS_PASSWORD_FILE at start, never from the environment; for Redis and the sentinels alike. */
  redisPassword: string
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
  /** The command the page suggests for scaling, the deployment's own (Compose's by default). */
  SCALE_COMMAND: string
  /** A worker gone this long (since its last beat) has its count folded into "earlier workers". */
  FOLD_AFTER_MS: number
}

const DNS_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$'
/** Compose's way to scale, the page's hint where a deployment names none. */
export const DEFAULT_SCALE_COMMAND = 'docker compose up -d --scale worker=5 --no-recreate'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
/** An hour: what a person scaling up and down sees stays, and months of churn do not grow /stats. */
export const DEFAULT_FOLD_AFTER_MS = 60 * 60 * 1000
/** The longest an id's window lives. */
export const FOLD_MIN_MS = ID_WINDOW_LIFE_MS

// Checked with TypeBox (already the worker's schema library), not a JSON-schema
// compiler: building one cost about a fifth of a worker's start.
const schema = Type.Object({
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  REDIS_URL: Type.String({ pattern: '^rediss?://[^\\s/?#]+', default: 'redis://redis:6379' }),
  REDIS_USERNAME: Type.String({ pattern: '^[A-Za-z0-9._-]{0,64}$', default: '' }),
  REDIS_PASSWORD_FILE: Type.String({ default: '' }),
  REDIS_SENTINELS: Type.String({ pattern: '^$|^[A-Za-z0-9._-]+:[0-9]{1,5}(,[A-Za-z0-9._-]+:[0-9]{1,5})*$', default: '' }),
  REDIS_PRIMARY_NAME: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'hitcounter' }),
  REDIS_MIN_REPLICAS: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  // Sent in a header and shown in the page: a DNS-style name only.
  HOSTNAME: Type.String({ pattern: DNS_NAME, default: hostname() }),
  NODE_NAME: Type.String({ pattern: DNS_NAME, default: 'local' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), { default: 'info' }),
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 60000, default: 2000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 10000 }),
  SCALE_COMMAND: Type.String({ minLength: 1, maxLength: 200, default: DEFAULT_SCALE_COMMAND }),
  // No sooner than an id's window lives (FOLD_MIN_MS), so a retried hit's credit never moves to or from a folded worker.
  FOLD_AFTER_MS: Type.Integer({ minimum: FOLD_MIN_MS, maximum: 30 * 24 * 3600 * 1000, default: DEFAULT_FOLD_AFTER_MS })
})

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** What a variable's value must be, in a person's words, from its schema. */
function expected (name: keyof typeof schema.properties): string {
  const property: TSchema = schema.properties[name]
  if (name === 'LOG_LEVEL') return `must be one of ${LOG_LEVELS.join(', ')}`
  if (property.type === 'integer') return `must be a whole number from ${String(property.minimum)} to ${String(property.maximum)}`
  if (typeof property.pattern === 'string') return `must match ${property.pattern}`
  if (typeof property.maxLength === 'number') return `must be 1 to ${String(property.maxLength)} characters`
  return 'must not be empty'
}

/** A value as an error may show it: a URL's password never is. */
const shown = (value: string | undefined): string => JSON.stringify(value?.replace(/^(\w+:\/\/[^:@/]*:).*@/, '$1***@'))

/** The password in REDIS_PASSWORD_FILE, less its trailing newlines (as redis/acl.sh reads it), or '' when none is named. */
function readPassword (file: string): string {
  if (file === '') return ''
  let password
  try {
    password = readFileSync(file, 'utf8').replace(/\n+$/, '')
  } catch (err) {
    throw new ConfigError(`invalid configuration: REDIS_PASSWORD_FILE names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  if (password === '') throw new ConfigError(`invalid configuration: REDIS_PASSWORD_FILE names ${file}, which is empty`)
  return password
}

/**
 * Reads and validates the configuration once, at start. A bad value throws a
 * ConfigError whose one-line message names the variable and the value given.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const given = Object.fromEntries(Object.keys(schema.properties).filter((name) => env[name] !== undefined).map((name) => [name, env[name]]))
  const config = Value.Default(schema, Value.Convert(schema, given))
  const first = Value.Errors(schema, config).First()
  if (first !== undefined) {
    const name = first.path.replace(/^\//, '')
    throw new ConfigError(`invalid configuration: ${name} ${expected(name as keyof typeof schema.properties)} (got ${shown(env[name])})`)
  }
  const valid = config as Omit<Config, 'redisPassword'>
  return { ...valid, redisPassword: readPassword(valid.REDIS_PASSWORD_FILE) }
}
