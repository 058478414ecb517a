import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { Value } from '@sinclair/typebox/value'
import { errorPagePolicyConf, limitsConf, NGINX_ERRORS, webErrorFiles } from '../../tools/web-errors.js'
import { ERROR_PAGE_POLICY, PASSING_STATUSES, RETRY_AFTER_SECONDS } from '../../worker/src/http/errors.js'
import { ALLOWED_METHODS, BODY_LIMIT_KB, HEADER_LINE_LIMIT_KB, KNOWN_METHODS } from '../../worker/src/http/limits.js'
import { ErrorReplySchema } from '../../worker/src/http/schemas.js'

// nginx's error answers are files made from one list; these tests keep nginx's config in step with it.
describe("nginx's error files", () => {
  const files = webErrorFiles()

  it.each(NGINX_ERRORS)('%i: the JSON is an ErrorReply of that status, the page names the same message', (status, message) => {
    const reply = JSON.parse(files.get(`${status}.json`)!) as unknown
    expect(Value.Check(ErrorReplySchema, reply)).toBe(true)
    expect(reply).toMatchObject({ statusCode: status, message })
    const page = files.get(`${status}.html`)!
    expect(page).toContain(`<p data-testid="error-message">${message}</p>`)
    expect(page).not.toMatch(/nginx/i)
  })

  it('nginx sends each listed status to its file, and only those', async () => {
    const conf = await readFile('web/errors.conf', 'utf8') + await readFile('web/nginx.conf', 'utf8')
    const routed = [...conf.matchAll(/^\s*error_page ([\d ]+?) (?:=\d+ )?\/\.errors\/(\d+)\.\$error_format;$/gm)]
      .flatMap(([, codes, file]) => codes!.split(' ').map((code) => [Number(code), Number(file)] as const))
    const statuses = NGINX_ERRORS.map(([status]) => status)
    expect(new Set(routed.map(([, file]) => file))).toEqual(new Set(statuses))
    expect(routed.filter(([code, file]) => code !== file)).toEqual([[494, 400]])
    expect([...files.keys()].sort()).toEqual(statuses.flatMap((status) => [`${status}.html`, `${status}.json`]).sort())
  })

  it('they carry the workers\' error pages\' Content-Security-Policy: the include the image gets, in the location that serves them', async () => {
    expect(errorPagePolicyConf()).toContain(`add_header Content-Security-Policy "${ERROR_PAGE_POLICY}" always;`)
    const location = /location \^~ \/\.errors\/ \{([\s\S]*?)\n {4}\}/.exec(await readFile('web/nginx.conf', 'utf8'))?.[1] ?? ''
    expect(location).toContain('include /etc/nginx/error-page-policy.conf;')
    expect(await readFile('web/Dockerfile', 'utf8')).toMatch(/write-web-errors\.js \/errors \/error-page-policy\.conf \/limits\.conf[\s\S]*COPY --from=errors \/error-page-policy\.conf \/limits\.conf \/etc\/nginx\//)
  })

  it('nginx keeps the workers\' limits from one include made from worker/src/http/limits.ts, and states none itself', async () => {
    const conf = limitsConf()
    const methods = new RegExp(/~\^\((.*)\)\$ 1;/.source).exec(conf)?.[1]?.split('|')
    expect(methods).toEqual([...KNOWN_METHODS])
    expect(conf).toContain(`405 "${ALLOWED_METHODS.join(', ')}";`)
    expect(conf).toContain(`~^(${PASSING_STATUSES.join('|')})$ ${RETRY_AFTER_SECONDS};`)
    expect(conf).toMatch(new RegExp(`^client_max_body_size ${BODY_LIMIT_KB}k;$`, 'm'))
    expect(conf).toMatch(new RegExp(`^large_client_header_buffers 4 ${HEADER_LINE_LIMIT_KB}k;$`, 'm'))
    const nginx = await readFile('web/nginx.conf', 'utf8')
    expect(nginx).toMatch(/^ {2}include \/etc\/nginx\/limits\.conf;$/m)
    expect(nginx).not.toMatch(/^\s*(map \S+ \$(known_method|allowed_methods|retry_after)|client_max_body_size|large_client_header_buffers) /m)
  })
})
