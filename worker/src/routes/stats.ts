import type { FastifyInstance } from 'fastify'

/** `/stats`: the total and the hits per worker, read without counting. */
export default async function statsRoutes (app: FastifyInstance): Promise<void> {
  app.get('/stats', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return await app.counter.stats()
  })
}
