import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    /** True once shutdown has begun. */
    isDraining: () => boolean
  }
}

/**
 * On close the listener stops and Node drops idle connections, but a
 * keep-alive connection whose request was in flight would stay open and hold
 * the process up: that request, and any still arriving on an open connection
 * (served, not refused: see return503OnClosing in app.ts), is answered with
 * "Connection: close".
 */
async function drainPlugin (app: FastifyInstance): Promise<void> {
  let draining = false
  app.decorate('isDraining', () => draining)
  app.addHook('preClose', async () => { draining = true })
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close')
  })
}

export default fp(drainPlugin, { name: 'drain' })
