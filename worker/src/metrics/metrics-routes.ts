import type { FastifyInstance } from 'fastify'

/**
 * `/metrics`: Prometheus's text format, for the scraper on the workers' own
 * network (nginx answers 404 for it: a scrape is not a hit). Logs only
 * failures, like the health checks: Prometheus asks every few seconds.
 */
export default async function metricsRoutes (app: FastifyInstance): Promise<void> {
  const { registry } = app.metrics
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
    reply.type(registry.contentType).header('cache-control', 'no-store').send(await registry.metrics()))
}
