import type { FastifyInstance } from 'fastify'
import { ErrorReplySchema, StatsReplySchema } from '../http/schemas.js'

/** `/stats`: the total and the hits per worker, read without counting. */
export default async function statsRoutes (app: FastifyInstance): Promise<void> {
  app.get('/stats', { schema: { response: { 200: StatsReplySchema, '5xx': ErrorReplySchema } } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return await app.liveView.stats()
  })
}
