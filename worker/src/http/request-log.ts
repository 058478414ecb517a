import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/** One JSON line per request, written when it completes (Fastify's default is two). */
export class OneLinePerRequest extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100
    }
    if (error) reply.log.error({ ...line, reason: error.message }, 'request failed')
    else reply.log.info(line, 'request')
  }
}
