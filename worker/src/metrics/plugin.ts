import fp from 'fastify-plugin'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance } from 'fastify'

/** What the worker measures, for Prometheus (served at /metrics, see metrics-routes.ts). */
export interface WorkerMetrics {
  registry: Registry
  /** Hits this worker counted in Redis: over all workers, the counter's total. */
  hitsCounted: Counter
  /** Hits per script call: how many one turn of the event loop sent together. */
  hitsPerCall: Histogram
  /** One Redis call (a try of it), by what it was for (redis/calls.ts: RedisCall). */
  redisCallSeconds: Histogram<'call'>
  /** A Redis call that failed, by what it was for and why (redis/calls.ts: classify). */
  redisErrors: Counter<'call' | 'kind'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: WorkerMetrics
  }
}

export interface MetricsOptions {
  hostname: string
  /** The machine it runs on (NODE_NAME): on a swarm, which node served. */
  node: string
  /**
   * The process's own metrics (CPU, memory, event-loop lag, GC): once per
   * process, by the entry point, since they watch the process, not the app,
   * and cannot be unwatched.
   */
  processMetrics: boolean
}

// Seconds: a hit takes about a millisecond, its budget a few seconds.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** What `route` says of a request no route matched: one value, never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched'

/**
 * Registers the worker's metrics, in a registry of its own (tests build many
 * apps in one process), every series labelled with the worker's hostname (the
 * name the page shows) and its node. Labels are bounded: routes by their
 * pattern, no ids, no URLs.
 */
async function metricsPlugin (app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  const registry = new Registry()
  registry.setDefaultLabels({ worker: opts.hostname, node: opts.node })
  if (opts.processMetrics) collectDefaultMetrics({ register: registry })

  const requestSeconds = new Histogram({
    name: 'hitcounter_http_request_duration_seconds',
    help: 'Requests this worker answered, by route (its pattern), method and status, and how long each took',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry]
  })
  app.addHook('onResponse', (request, reply, done) => {
    requestSeconds.observe({
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      method: request.method,
      status_code: reply.statusCode
    }, reply.elapsedTime / 1000)
    done()
  })

  app.decorate('metrics', {
    registry,
    hitsCounted: new Counter({
      name: 'hitcounter_hits_total',
      help: 'Hits this worker counted in Redis (a hit tried again is counted once, by the worker that counted it first)',
      registers: [registry]
    }),
    hitsPerCall: new Histogram({
      name: 'hitcounter_hits_per_call',
      help: 'Hits counted together in one call of the hit script (the hits of one turn of the event loop)',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry]
    }),
    redisCallSeconds: new Histogram({
      name: 'hitcounter_redis_call_duration_seconds',
      help: 'One try of a Redis call, by what it was for',
      labelNames: ['call'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry]
    }),
    redisErrors: new Counter({
      name: 'hitcounter_redis_errors_total',
      help: 'Redis calls that failed, by what they were for and why',
      labelNames: ['call', 'kind'] as const,
      registers: [registry]
    })
  })
}

export default fp(metricsPlugin, { name: 'metrics' })
