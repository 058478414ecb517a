import type { FastifyInstance } from 'fastify'

/**
 * `/healthz`: the process is alive (no Redis call, so a Redis outage never gets
 * workers restarted). `/readyz`: this worker can count hits now.
 * Once shutdown begins, /readyz answers 503 "draining".
 * Both log only failures: the container health check calls /readyz all day.
 */
export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    if (app.isDraining()) return await reply.code(503).send({ status: 'draining' })
    try {
      // Not connected: say so now rather than wait in the offline queue.
      if (app.redis.status !== 'ready') throw new Error(app.redis.status)
      await app.redis.ping()
      return { status: 'ready' }
    } catch {
      return await reply.code(503).send({ status: 'unavailable', reason: 'Redis is not reachable' })
    }
  })
}
