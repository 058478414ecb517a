// nginx's own error answers, declared once: their messages here, their two
// forms (the JSON ErrorReply, the HTML page) made by the worker's own functions.
// web/Dockerfile writes them into the image (write-web-errors.ts), and
// web/nginx.conf serves them by the client's Accept header.
import { ERROR_PAGE_POLICY, errorReply, PASSING_STATUSES, renderErrorPage, RETRY_AFTER_SECONDS } from '../worker/src/http/errors.js'
import { ALLOWED_METHODS, BODY_LIMIT_KB, HEADER_LINE_LIMIT_KB, KNOWN_METHODS } from '../worker/src/http/limits.js'

/** Each status nginx may answer by itself (494, a header too large, is sent as 400), with its message. */
export const NGINX_ERRORS: ReadonlyArray<readonly [status: number, message: string]> = [
  [400, `the request is malformed, or a header line is over ${HEADER_LINE_LIMIT_KB} kB`],
  [404, 'no such path'],
  [405, `use ${ALLOWED_METHODS.join(' or ')}`],
  [413, `a body may be at most ${BODY_LIMIT_KB} kB`],
  [414, `the request line may be at most ${HEADER_LINE_LIMIT_KB} kB`],
  [500, 'internal error in the load balancer'],
  [502, 'no worker gave a valid answer, try again shortly'],
  [503, 'no worker can take this hit right now, try again shortly'],
  [504, 'no worker answered in time, try again shortly']
]

/** File name → content: `NNN.json` and `NNN.html` for each status. */
export function webErrorFiles (): Map<string, string> {
  const files = new Map<string, string>()
  for (const [status, message] of NGINX_ERRORS) {
    const reply = errorReply(status, message)
    files.set(`${status}.json`, `${JSON.stringify(reply)}\n`)
    files.set(`${status}.html`, renderErrorPage(reply))
  }
  return files
}

/**
 * nginx's lines for the limits the workers keep (worker/src/http/limits.ts, errors.ts),
 * included at http level by web/nginx.conf: the known methods, the Allow header
 * of a 405, Retry-After on answers that may pass, the body and header sizes.
 */
export function limitsConf (): string {
  return `# Made by tools/web-errors.ts from worker/src/http/limits.ts and errors.ts.
map $request_method $known_method {
  default 0;
  ~^(${KNOWN_METHODS.join('|')})$ 1;
}
map $status $allowed_methods {
  405 "${ALLOWED_METHODS.join(', ')}";
  default "";
}
map $status $retry_after {
  ~^(${PASSING_STATUSES.join('|')})$ ${RETRY_AFTER_SECONDS};
  default "";
}
client_max_body_size ${BODY_LIMIT_KB}k;
large_client_header_buffers 4 ${HEADER_LINE_LIMIT_KB}k;
`
}

/** The nginx include that gives nginx's error answers the workers' error pages' Content-Security-Policy. */
export function errorPagePolicyConf (): string {
  return `# Made by tools/web-errors.ts from worker/src/http/errors.ts: the workers' error pages' policy.\nadd_header Content-Security-Policy "${ERROR_PAGE_POLICY}" always;\n`
}
