import type { FastifyInstance } from 'fastify'
import { renderHitPage } from '../live-view/page.js'
import { ErrorReplySchema, HitReplySchema, type HitReply } from '../http/schemas.js'
import { sendError } from '../http/errors.js'
import { ALLOWED_METHODS, KNOWN_METHODS } from '../http/limits.js'

const ALLOWED = ALLOWED_METHODS.join(', ')
const REFUSED = KNOWN_METHODS.filter((method) => !(ALLOWED_METHODS as readonly string[]).includes(method))
// The page runs only its own script and style, and talks only to its own origin.
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** `/`: every GET is one hit, answered in the form the client asked for. */
export default async function hitRoutes (app: FastifyInstance, opts: { hostname: string, scaleCommand: string }): Promise<void> {
  const { hostname, scaleCommand } = opts

  app.get('/', { exposeHeadRoute: false, schema: { response: { 200: HitReplySchema, '4xx': ErrorReplySchema, '5xx': ErrorReplySchema } } }, async (request, reply) => {
    const hit = await app.counter.hit(request.id)
    switch (request.accepts().type(['text/plain', 'text/html', 'application/json'])) {
      case 'text/html': {
        // Browsers only: the panel's first paint, read once the hit is counted (it leads the recent hits).
        const [stats, history] = await Promise.all([app.liveView.stats(), app.liveView.history()])
        return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_POLICY)
          .send(renderHitPage({ hostname, hits: hit.total, colourSlot: app.presence.slot(), stats, history, scaleCommand }))
      }
      case 'application/json':
        return reply.send({ hostname, hits: hit.total, workerHits: hit.worker, colourSlot: app.presence.slot() } satisfies HitReply)
      default:
        return reply.type('text/plain; charset=utf-8').send(`Hello World I am ${hostname}! ${hit.total} times.\n`)
    }
  })

  // A HEAD (monitors, link checkers) must not count, so it is not the GET handler.
  app.head('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send())

  // Answered before any body is read, so a POST with an odd body still gets 405.
  app.route({
    method: REFUSED,
    url: '/',
    onRequest: async (request, reply) => {
      await sendError(request, reply.header('allow', ALLOWED), 405, `${request.method} is not allowed on /; use ${ALLOWED}`)
    },
    handler: async () => undefined
  })

  // Browsers ask for it on every refresh; the original demo counted those as hits.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send())
}
