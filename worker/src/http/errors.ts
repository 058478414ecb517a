// Every error answer, the workers' and nginx's alike, in one of two forms: the
// JSON ErrorReply for API clients and curl, or, for a browser asking for HTML,
// a page in the demo's style that names the cause and, when the trouble may
// pass (502, 503, 504), loads the address again by itself after Retry-After.
// nginx's own error files are made from these functions (tools/web-errors.ts).
import { STATUS_CODES } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
// request.accepts(), which app.ts registers.
import type {} from '@fastify/accepts'
import type { ErrorReply } from './schemas.js'
import { escapeHtml } from './html.js'

/** Seconds a client is asked to wait before trying again (Retry-After, and the error page's own reload). */
export const RETRY_AFTER_SECONDS = 1

/** Answers that may pass by themselves: they carry Retry-After, and their page reloads. */
export const PASSING_STATUSES: readonly number[] = [502, 503, 504]
export const isPassing = (statusCode: number): boolean => PASSING_STATUSES.includes(statusCode)

/** The error page has no script and only its own inline style. */
export const ERROR_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export function errorReply (statusCode: number, message: string): ErrorReply {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

/** The page a browser gets for an error; self-contained, since no worker may be there to serve a style. */
export function renderErrorPage ({ statusCode, error, message }: ErrorReply): string {
  const passing = isPassing(statusCode)
  const refresh = passing ? `\n<meta http-equiv="refresh" content="${RETRY_AFTER_SECONDS}">` : ''
  const next = passing
    ? `This page tries again by itself every ${RETRY_AFTER_SECONDS} s, and shows the hit once it is counted.`
    : 'Trying again as it is will give the same answer.'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>hitcounter: ${statusCode} ${escapeHtml(error)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1b1f24; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
.trouble { background: #7f1d1d; color: #fff; border-radius: 1rem; padding: 1.5rem; text-align: center; }
.trouble h1 { font-size: clamp(1.25rem, 4vw, 2.25rem); margin: 0 0 .5rem; }
.trouble p { font-size: 1.2rem; margin: 0; }
.next { color: #4b5563; }
</style>
</head>
<body>
<main>
  <section class="trouble" role="alert" data-status="${statusCode}">
    <h1>${statusCode} ${escapeHtml(error)}</h1>
    <p data-testid="error-message">${escapeHtml(message)}</p>
  </section>
  <p class="next">${next}</p>
</main>
</body>
</html>
`
}

/** Answers an error in the form the client asked for: HTML for a browser, the JSON ErrorReply otherwise. */
export async function sendError (request: FastifyRequest, reply: FastifyReply, statusCode: number, message: string): Promise<FastifyReply> {
  const body = errorReply(statusCode, message)
  reply.code(statusCode)
  if (isPassing(statusCode)) reply.header('retry-after', String(RETRY_AFTER_SECONDS))
  if (request.accepts().type(['application/json', 'text/html']) === 'text/html') {
    return await reply.type('text/html; charset=utf-8').header('content-security-policy', ERROR_PAGE_POLICY).send(renderErrorPage(body))
  }
  return await reply.send(body)
}
