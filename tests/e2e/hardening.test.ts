import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Value } from '@sinclair/typebox/value'
import { NO_ADDRESS, sh, Stack } from '../../harness/stack.js'
import { ErrorReplySchema, type ErrorReply } from '../../worker/src/http/schemas.js'
import { ERROR_PAGE_POLICY, RETRY_AFTER_SECONDS } from '../../worker/src/http/errors.js'
import { webErrorFiles } from '../../tools/web-errors.js'
import { BROWSER_ACCEPT } from '../support/app.js'
import { waitFor } from '../../harness/wait.js'

// Bad input through nginx gets a clear 4xx and restarts nothing; the stack is
// locked down where it can be checked from the outside. Traffic to 127.0.0.1 only.
let stack: Stack

beforeAll(async () => { stack = await Stack.up(2) })
afterAll(async () => { await stack?.down() })

interface RawAnswer { status: number, head: string, body: string, ms: number }

/** Sends `request` as is on a new connection and reads until nginx closes it (10 s at most). */
async function raw (request: string): Promise<RawAnswer> {
  const started = performance.now()
  return await new Promise((resolve, reject) => {
    const socket = connect(stack.port, '127.0.0.1', () => socket.write(request))
    let data = ''
    socket.setTimeout(10000, () => { socket.destroy(new Error('no answer within 10 s')) })
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body, ms: performance.now() - started })
    })
  })
}

const get = (target: string, headers = 'Host: localhost\r\n'): string => `GET ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`

describe('bad input gets a clear 4xx, in the one JSON error form', () => {
  // Read once around all the bad inputs: none of them may restart a container.
  let lifetimes: Record<string, string>
  beforeAll(async () => { lifetimes = await stack.lifetimes() })

  it.each([
    ['a 20 kB header', 400, get('/', `Host: localhost\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n`)],
    ['a 9 kB URL', 414, get(`/?q=${'a'.repeat(9 * 1024)}`)],
    ['a 20 kB body', 413, `GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${20 * 1024}\r\nConnection: close\r\n\r\n${'a'.repeat(20 * 1024)}`],
    ['TRACE', 405, 'TRACE / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'],
    ['an unknown method', 405, 'BREW / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'],
    ['POST /', 405, 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nx=1'],
    ['path traversal', 400, get('/../../etc/passwd')],
    ['an empty Host', 400, get('/', 'Host:\r\n')],
    ['a negative Content-Length', 400, 'GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\nConnection: close\r\n\r\n']
  ])('%s: %i', async (_what, status, request) => {
    const answer = await raw(request)
    expect(answer.status).toBe(status)
    expect(answer.head).toMatch(/^Server: nginx$/m)
    expect(`${answer.head}\n${answer.body}`).not.toMatch(/nginx\/\d|\bat .+:\d+:\d+/)
    // nginx's own refusals and the workers' share one form, declared once (ErrorReplySchema).
    expect(answer.head).toMatch(/^Content-Type: application\/json/im)
    const reply = JSON.parse(answer.body) as unknown
    expect(Value.Check(ErrorReplySchema, reply), answer.body).toBe(true)
    expect((reply as ErrorReply).statusCode).toBe(status)
  })

  it('none of those bad inputs restarted a container', async () => {
    expect(await stack.lifetimes(), 'a container was restarted').toEqual(lifetimes)
  })

  it.each([
    ['BREW', 405, 'BREW / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nConnection: close\r\n\r\n'],
    ['a 20 kB body', 413, `GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\nContent-Length: ${20 * 1024}\r\nConnection: close\r\n\r\n${'a'.repeat(20 * 1024)}`]
  ])('%s from a browser: %i, the demo\'s error page (nginx\'s file)', async (_what, status, request) => {
    const answer = await raw(request)
    expect(answer.status).toBe(status)
    expect(answer.head).toMatch(/^Content-Type: text\/html; charset=utf-8$/im)
    expect(answer.body).toBe(webErrorFiles().get(`${status}.html`))
  })

  it('a method other than GET or HEAD on / says which are allowed', async () => {
    for (const method of ['POST', 'BREW']) {
      const answer = await raw(`${method} / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      expect(answer.head).toMatch(/^allow: GET, HEAD$/im)
    }
  })

  it('a client that never finishes its headers is cut off at client_header_timeout, and others are served meanwhile', async () => {
    const headerTimeoutMs = 1000 * Number(/client_header_timeout (\d+)s;/.exec(readFileSync('web/nginx.conf', 'utf8'))![1])
    const slow = new Promise<number>((resolve, reject) => {
      const started = performance.now()
      const socket = connect(stack.port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n'))
      const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 500)
      socket.setTimeout(20000, () => { socket.destroy(new Error('the slow client was never cut off')) })
      socket.on('error', reject)
      socket.on('close', () => { clearInterval(drip); resolve(performance.now() - started) })
      socket.resume()
    })
    const others = await stack.hits(20, 2)
    expect(others.filter((answer) => answer.status !== 200)).toEqual([])
    const msToCutOff = await slow
    console.log(`slow client cut off after ${msToCutOff.toFixed(0)} ms (client_header_timeout ${headerTimeoutMs} ms)`)
    // The drip's 0.5 s lines do not keep it: cut at the timeout, give or take a drip's interval.
    expect(msToCutOff).toBeLessThan(headerTimeoutMs + 1000)
  })

  it('with no worker at all: 503 with Retry-After, as JSON for curl and as a page that reloads itself for a browser', async () => {
    await stack.scaleTo(0)
    try {
      const json = await fetch(stack.url)
      expect(json.status).toBe(503)
      expect(json.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS))
      expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(await json.json()).toMatchObject({ statusCode: 503, message: 'no worker can take this hit right now, try again shortly' })
      const page = await fetch(stack.url, { headers: { accept: BROWSER_ACCEPT } })
      expect(page.status).toBe(503)
      expect(page.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS))
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await page.text()
      expect(html).toBe(webErrorFiles().get('503.html'))
      expect(page.headers.get('content-security-policy')).toBe(ERROR_PAGE_POLICY)
      expect(html).toContain(`<meta http-equiv="refresh" content="${RETRY_AFTER_SECONDS}">`)
    } finally {
      await stack.scaleTo(2)
    }
  })
})

describe('hardening, checked from the outside', () => {
  it('only nginx has a port on the host; the networks behind it are internal', async () => {
    for (const id of await stack.containerIds()) {
      const service = await stack.inspect(id, '{{index .Config.Labels "com.docker.compose.service"}}')
      const ports = await stack.inspect(id, '{{range $p, $b := .HostConfig.PortBindings}}{{$p}} {{end}}')
      expect(ports.trim(), service).toBe(service === 'web' ? '80/tcp' : '')
    }
    // (metrics, Prometheus's network with Redis's exporter, exists only with --profile metrics: tested there.)
    for (const network of ['workers', 'redis']) expect(await stack.inspectNetwork(network, '{{.Internal}}'), network).toBe('true')
  })

  it.each([['worker', 'node'], ['web', '101:101']])('%s runs as a non-root user (%s), read-only, with no capabilities and no new privileges', async (service, user) => {
    const ids = await stack.containerIds(service)
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) {
      expect(await stack.inspect(id, '{{.Config.User}}')).toBe(user)
      expect(await stack.inspect(id, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true')
      expect(await stack.inspect(id, '{{.HostConfig.CapDrop}}')).toBe('[ALL]')
      expect(await stack.inspect(id, '{{.HostConfig.SecurityOpt}}')).toBe('[no-new-privileges:true]')
    }
    // Every process in it, nginx's master too: none is root.
    const [container] = ids
    const uids = (await sh('docker', ['top', container!, '-o', 'pid,uid'])).split('\n').slice(1).filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(/\s+/)[1])
    expect(uids.length).toBeGreaterThan(0)
    expect(uids.filter((uid) => uid === '0')).toEqual([])
  })

  it('the logs say where the demo is, and carry no health checks', async () => {
    // Hits of this test's own (a query nginx logs and the worker ignores), each with the worker that answered.
    const probe = `log-probe-${process.pid}-${Date.now()}`
    const servedBy = new Map<string, string>()
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${stack.url}/?${probe}=${i}`)
      expect(res.status).toBe(200)
      servedBy.set(`/?${probe}=${i}`, res.headers.get('x-served-by') ?? '')
    }
    // nginx writes its access log once a second: its line for each of these hits names the worker, as X-Served-By does.
    let logged = new Map<string, string>()
    await waitFor('nginx to log the hits', async () => {
      const lines = (await stack.run('logs', '--no-color', 'web')).split('\n').map((line) => /\{"time".*\}$/.exec(line)?.[0])
        .filter((line) => line !== undefined).map((line) => JSON.parse(line) as { uri: string, served_by: string })
      logged = new Map(lines.filter((line) => servedBy.has(line.uri)).map((line) => [line.uri, line.served_by]))
      return logged.size === servedBy.size
    }, 10000, 250)
    expect(logged).toEqual(servedBy)
    const logs = await stack.run('logs', '--no-color')
    expect(logs).toContain(`hitcounter: open http://localhost:${stack.port}`)
    expect(logs.split('\n').filter((line) => /\/(readyz|healthz|nginx-health)/.test(line))).toEqual([])
  })

  it('the open line is said only once a worker can answer, so the first click is served', async () => {
    await stack.scaleTo(0)
    try {
      const since = new Date().toISOString()
      const webLogs = async (): Promise<string> => await stack.run('logs', '--no-color', '--since', since, 'web')
      await stack.run('restart', 'web')
      await waitFor('nginx to answer again', async () => await fetch(`${stack.url}/nginx-health`).then((res) => res.ok, () => false), 30000, 100)
      // web/announce.sh sleeps 0.2 s between tries of /readyz: seen sleeping, it has found no worker at least once.
      const [web] = await stack.containerIds('web')
      await waitFor('the announcer to find no worker', async () => (await sh('docker', ['top', web!, '-o', 'pid,args'])).includes('sleep 0.2'), 10000, 50)
      expect(await webLogs(), 'no worker yet').not.toContain('hitcounter: open')
      await stack.scaleTo(2)
      await waitFor('the open line', async () => (await webLogs()).includes(`hitcounter: open http://localhost:${stack.port}`), 5000, 200)
    } finally {
      await stack.scaleTo(2)
    }
  })

  it('nginx names no version, and an unknown path gives no stack trace', async () => {
    const res = await fetch(`${stack.url}/does-not-exist`)
    expect(res.status).toBe(404)
    expect(res.headers.get('server')).toBe('nginx')
    expect(await res.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'no route for GET /does-not-exist' })
  })
})

describe('only the workers reach Redis, each client as a user with the least it needs', () => {
  /** The networks a service's container is on, and the secrets it mounts. */
  const networks = async (id: string): Promise<string[]> =>
    (await stack.inspect(id, '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}')).split(' ').filter((name) => name !== '').map((name) => name.replace(`${stack.project}_`, '')).sort()
  const secrets = async (id: string): Promise<string> => await stack.inspect(id, '{{range .Mounts}}{{if eq .Name "' + stack.project + '_redis-secrets"}}{{.Destination}} {{end}}{{end}}')
  /**
   * redis-cli in one throw-away container on Redis's network, as anything there could run it (`user`: logged in
   * with that user's secret, mounted as the worker's is); one line of `commands` each, a reply line each.
   */
  const cliOnRedisNetwork = async (user: string | null, commands: string[]): Promise<string[]> => {
    const secret = ['--mount', `type=volume,src=${stack.project}_redis-secrets,dst=/run/secrets/redis-${user},volume-subpath=redis-${user},readonly`]
    const login = user === null ? '' : `REDISCLI_AUTH=$(cat /run/secrets/redis-${user}) `
    const out = await sh('docker', ['run', '--rm', '--network', `${stack.project}_redis`, ...(user === null ? [] : secret), `${stack.project}/redis:latest`,
      'sh', '-c', `printf '%s\\n' "$@" | ${login}redis-cli ${user === null ? '' : `--user ${user} `}-h redis`, 'cli', ...commands])
    // (redis-cli, reading commands on its input, writes an empty line between two error replies.)
    return out.split('\n').filter((line) => line !== '')
  }

  it('nginx is on no network with Redis and holds no secret; each worker holds only its own', async () => {
    const [web] = await stack.containerIds('web')
    const [redis] = await stack.containerIds('redis')
    expect(await networks(web!)).toEqual(['frontend', 'workers'])
    expect(await networks(redis!)).toEqual(['redis'])
    expect(await secrets(web!)).toBe('')
    for (const worker of await stack.containerIds('worker')) {
      expect(await networks(worker)).toEqual(['redis', 'workers'])
      expect((await secrets(worker)).trim()).toBe('/run/secrets/redis-worker')
    }
  })

  it('from the web container, Redis\'s name does not resolve', async () => {
    // bash's /dev/tcp, as code run in nginx's container could. (Its address is on a network nginx is not on, above:
    // a connection to it would leave only by the default route, out of this machine, so it is not tried.)
    const tried = await stack.run('exec', '-T', 'web', 'timeout', '2', 'bash', '-c', 'exec 3<>/dev/tcp/redis/6379').then(() => 'connected', (err: Error) => err.message)
    expect(tried).toMatch(NO_ADDRESS)
  })

  it('on Redis\'s network, a client without a password gets NOAUTH', async () => {
    expect(await cliOnRedisNetwork(null, ['INCRBY hits 1000', 'CONFIG GET dir'])).toEqual([expect.stringMatching(/^NOAUTH/), expect.stringMatching(/^NOAUTH/)])
  })

  it('with the workers\' secret: counting works, FLUSHALL, CONFIG SET, KEYS and DEBUG are refused; with the exporter\'s, nothing can be written or read', async () => {
    expect((await stack.hit()).status).toBe(200)
    // DEBUG is off in Redis itself (ERR before any ACL); the user's rules refuse it too (DRYRUN, below).
    expect(await cliOnRedisNetwork('worker', ['FLUSHALL', 'CONFIG SET dir /tmp', 'KEYS *', 'DEBUG SLEEP 0']))
      .toEqual([expect.stringMatching(/^NOPERM/), expect.stringMatching(/^NOPERM/), expect.stringMatching(/^NOPERM/), expect.stringMatching(/^ERR/)])
    expect(await stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'ACL', 'DRYRUN', 'worker', 'DEBUG', 'SLEEP', '0')).toMatch(/no permissions/)
    expect(await cliOnRedisNetwork('exporter', ['SET hits 0', 'INCRBY hits 1', 'GET hits'])).toEqual(Array(3).fill(expect.stringMatching(/^NOPERM/)))
    // The stack's own clients were never refused: what Redis's ACL LOG holds is these refusals, made from outside the stack's workers.
    const refusedUsers = (await stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'ACL', 'LOG')).split('\n')
    expect(refusedUsers.filter((line, i, lines) => lines[i - 1] === 'object').sort()).toEqual(['config|set', 'flushall', 'get', 'incrby', 'keys', 'set'])
  })
})
