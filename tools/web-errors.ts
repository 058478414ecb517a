// nginx's own error answers, declared once: their messages here, their two
// forms (the JSON ErrorReply, the HTML page) made by the worker's own functions.
// web/Dockerfile writes them into the image (write-web-errors.ts), and
// web/nginx.conf serves them by the client's Accept header.
import { ERROR_PAGE_POLICY, errorReply, renderErrorPage } from '../worker/src/errors.js'

/** Each status nginx may answer by itself (494, a header too large, is sent as 400), with its message. */
export const NGINX_ERRORS: ReadonlyArray<readonly [status: number, message: string]> = [
  [400, 'the request is malformed, or a header line is over 8 kB'],
  [404, 'no such path'],
  [405, 'use GET or HEAD'],
  [413, 'a body may be at most 16 kB'],
  [414, 'the request line may be at most 8 kB'],
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

/** The nginx include that gives nginx's error answers the workers' error pages' Content-Security-Policy. */
export function errorPagePolicyConf (): string {
  return `# Made by tools/web-errors.ts from worker/src/errors.ts: the workers' error pages' policy.\nadd_header Content-Security-Policy "${ERROR_PAGE_POLICY}" always;\n`
}
