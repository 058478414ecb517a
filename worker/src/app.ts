// The worker, a room per concern, each importing only from the rooms before it
// so that none depends on another in a circle: http/ (what every answer shares),
// metrics/, redis/ (the client, its clock, how calls fail, the keys),
// live-view/ (the page, /stats, presence, the per-second history) and counter/
// (a hit: GET /, its batches, count-hits.lua). This file puts them together.
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import accepts from '@fastify/accepts'
import { DEFAULT_FOLD_AFTER_MS, DEFAULT_SCALE_COMMAND, type Config } from './config.js'
import drain from './http/drain.js'
import healthRoutes from './http/health-routes.js'
import { OneLinePerRequest } from './http/request-log.js'
import { sendError } from './http/errors.js'
import { BODY_LIMIT_KB } from './http/limits.js'
import metrics from './metrics/plugin.js'
import metricsRoutes from './metrics/metrics-routes.js'
import redis from './redis/plugin.js'
import liveView from './live-view/plugin.js'
import presence from './live-view/presence.js'
import statsRoutes from './live-view/stats-routes.js'
import assetRoutes from './live-view/asset-routes.js'
import counter from './counter/plugin.js'
import hitRoutes from './counter/hit-routes.js'

const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/

export type AppConfig = Pick<Config, 'REDIS_URL' | 'HOSTNAME' | 'LOG_LEVEL' | 'REDIS_TIMEOUT_MS'>
  & Partial<Pick<Config, 'REDIS_USERNAME' | 'redisPassword' | 'REDIS_SENTINELS' | 'REDIS_PRIMARY_NAME' | 'REDIS_MIN_REPLICAS' | 'NODE_NAME' | 'SCALE_COMMAND' | 'FOLD_AFTER_MS'>>

/**
 * JSON lines to stdout, written in batches: one write per request would cost a
 * system call and a wake-up of Docker's log reader for every hit. A batch goes
 * out when 4 kB are waiting or after 250 ms, whichever comes first, and what is
 * left is flushed when the app closes and when the process exits.
 */
function logDestination (): ReturnType<typeof pino.destination> {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 })
}

export interface AppOptions {
  /** Watch the process too (CPU, memory, event-loop lag, GC) at /metrics: once per process, so the entry point's choice. */
  processMetrics?: boolean
}

/** The Fastify instance: its log, request ids and limits, and the header that names the worker in every answer. */
function createServer (config: AppConfig): FastifyInstance {
  const hostname = config.HOSTNAME
  const logs = logDestination()
  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      base: { pid: process.pid, hostname },
      stream: logs
    },
    // nginx sets X-Request-Id, the same for every try of one request, so its
    // access log line and ours share one id, and a hit is counted once by it
    // (nginx overwrites any id a client sends; workers are not reachable from
    // outside). A request without a well-formed one (a worker run alone) gets an id of its own.
    genReqId: (request) => {
      const id = request.headers['x-request-id']
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID()
    },
    logController: new OneLinePerRequest(),
    bodyLimit: BODY_LIMIT_KB * 1024,
    // While closing, requests still arriving on open connections are served
    // (and answered with Connection: close), not refused with 503: nginx retries
    // a worker's 503 nowhere now, since a 503 means Redis, which all workers share.
    return503OnClosing: false
  })

  app.addHook('onClose', async () => { await new Promise((resolve) => logs.flush(resolve)) })
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-served-by', hostname)
  })
  return app
}

/** Every error, and every address no route has, answered in the form the client asked for (http/errors.ts). */
function answerErrors (app: FastifyInstance): void {
  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500
    if (statusCode >= 500) {
      // The reason goes to the log only; the client gets one line and no stack.
      const reason = err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message
      request.log[statusCode === 503 ? 'warn' : 'error']({ reason, errorName: err.name }, 'request failed')
    }
    return await sendError(request, reply, statusCode, statusCode === 500 ? 'internal error' : err.message)
  })
  app.setNotFoundHandler(async (request, reply) => await sendError(request, reply, 404, `no route for ${request.method} ${request.url}`))
}

/** The rooms' plugins, each after those it uses: metrics and Redis first, the counter after the live view it reports to. */
async function registerPlugins (app: FastifyInstance, config: AppConfig, options: AppOptions): Promise<void> {
  const hostname = config.HOSTNAME
  const node = config.NODE_NAME ?? 'local'
  await app.register(accepts)
  await app.register(metrics, { hostname, node, processMetrics: options.processMetrics ?? false })
  await app.register(drain)
  await app.register(redis, {
    url: config.REDIS_URL,
    sentinels: config.REDIS_SENTINELS ?? '',
    primaryName: config.REDIS_PRIMARY_NAME ?? 'hitcounter',
    username: config.REDIS_USERNAME ?? '',
    password: config.redisPassword ?? '',
    timeoutMs: config.REDIS_TIMEOUT_MS
  })
  await app.register(liveView, { hostname, timeoutMs: config.REDIS_TIMEOUT_MS })
  await app.register(counter, { hostname, timeoutMs: config.REDIS_TIMEOUT_MS, minReplicas: config.REDIS_MIN_REPLICAS ?? 0 })
  await app.register(presence, { hostname, node, foldAfterMs: config.FOLD_AFTER_MS ?? DEFAULT_FOLD_AFTER_MS })
}

/** The routes: `/` (a hit), then what the live view, the health checks and Prometheus read. */
async function registerRoutes (app: FastifyInstance, config: AppConfig): Promise<void> {
  await app.register(hitRoutes, { hostname: config.HOSTNAME, scaleCommand: config.SCALE_COMMAND ?? DEFAULT_SCALE_COMMAND })
  await app.register(statsRoutes)
  await app.register(healthRoutes)
  await app.register(assetRoutes)
  await app.register(metricsRoutes)
}

/**
 * Builds the worker without listening, so tests can build it, call it, close it.
 * `server.ts` is the entry that listens and handles signals.
 */
export async function buildApp (config: AppConfig, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = createServer(config)
  answerErrors(app)
  await registerPlugins(app, config, options)
  await registerRoutes(app, config)
  return app
}
