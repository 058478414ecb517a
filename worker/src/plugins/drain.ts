import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * On close Fastify answers new requests 503 and Node drops idle connections,
 * but a keep-alive connection whose request was in flight would stay open and
 * hold the process up: that request is answered with "Connection: close".
 */
async function drainPlugin (app: FastifyInstance): Promise<void> {
  let draining = false
  app.addHook('preClose', async () => { draining = true })
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close')
  })
}

export default fp(drainPlugin, { name: 'drain' })
