import type { FastifyInstance } from 'fastify'
import { StatsReplySchema } from '../schemas.js'

/** `/stats`: the total and the hits per worker, read without counting. */
export default async function statsRoutes (app: FastifyInstance): Promise<void> {
  app.get('/stats', { schema: { response: { 200: StatsReplySchema } } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return await app.counter.stats()
  })
}
