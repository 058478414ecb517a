import { execFileSync, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createConnection } from 'node:net'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { RedisServer } from '../../harness/redis-server.js'
import { buildReadyApp } from '../support/app.js'
import { WorkerProcess } from '../support/worker-process.js'
import type { StatsReply } from '../../worker/src/http/schemas.js'

// Redis's users as every deployment makes them (redis/acl.sh), on a real
// redis-server: the worker counts as its user and can do nothing else.
const secrets = mkdtempSync(join(tmpdir(), 'hitcounter-secrets-'))
const password = (user: string): string => readFileSync(join(secrets, `redis-${user}`), 'utf8')
const aclFile = join(secrets, 'users.acl')
/** A key of the workers' own. */
const KEY = 'hits:x'

let redis: RedisServer
beforeAll(async () => {
  for (const user of ['worker', 'exporter', 'admin']) writeFileSync(join(secrets, `redis-${user}`), `${user}-${String(Math.random()).slice(2)}\n`)
  writeFileSync(aclFile, execFileSync('sh', ['redis/acl.sh', 'redis'], { env: { ...process.env, SECRETS_DIR: secrets } }))
  redis = await RedisServer.start(['--aclfile', aclFile], `admin:${password('admin').trim()}`)
})
afterAll(async () => { await redis?.stop() })

/** Runs one command as `user`; its reply, or the error's first word. */
async function as (user: string, ...command: string[]): Promise<unknown> {
  const login = { username: user, password: password(user).trim() }
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...login })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.call(command[0]!, ...command.slice(1))
  } catch (err) {
    return (err as Error).message.split(' ')[0]
  } finally {
    client.disconnect()
  }
}

/**
 * ACL DRYRUN: would `user` be allowed `command` with `args` (KEY left out
 * for a command without keys, the rest filled to the command's arity)? "OK", or Redis's reason why not.
 */
async function dryRun (user: string, command: string, ...args: string[]): Promise<string> {
  return await redis.client(async (admin) => {
    const [[, arity, , firstKey]] = await admin.call('COMMAND', 'INFO', command) as [[string, number, unknown, number]]
    const given = firstKey === 0 ? args.filter((arg) => arg !== KEY) : args
    const filled = [...given, ...Array<string>(Math.max(0, Math.abs(arity) - 1 - given.length)).fill('0')]
    return String(await admin.call('ACL', 'DRYRUN', user, command, ...filled))
  })
}

/** Sends one inline command on a bare connection, as anything that reaches the port could: Redis's first reply line. */
async function unauthenticated (command: string): Promise<string> {
  const socket = createConnection(redis.port, '127.0.0.1')
  socket.write(`${command}\r\n`)
  const [reply] = await once(socket, 'data') as [Buffer]
  socket.destroy()
  return reply.toString().split('\r\n')[0]!
}

/** What Redis refused since its start, as ACL LOG keeps it: "user command-or-key". */
const refusals = async (): Promise<string[]> => await redis.client(async (admin) =>
  ((await admin.call('ACL', 'LOG')) as unknown[][]).map((entry) => {
    const fields = Object.fromEntries(Array.from({ length: entry.length / 2 }, (_, i) => [entry[2 * i], entry[2 * i + 1]]))
    return `${String(fields.username)} ${String(fields.object)}`
  }))

describe('Redis\'s users (redis/acl.sh)', () => {
  it('the worker, as its user, counts, shows the live view, beats and writes its history, and Redis refuses none of its calls', async () => {
    const app = await buildReadyApp(redis.url, 'acl-worker', { REDIS_USERNAME: 'worker', redisPassword: password('worker').trim() })
    for (let i = 0; i < 5; i++) expect((await app.inject('/')).statusCode).toBe(200)
    const stats = (await app.inject('/stats')).json<StatsReply>()
    expect(stats.total).toBe(5)
    expect(Object.keys(stats.serving)).toEqual(['acl-worker'])
    await app.close()
    expect(await redis.client(async (admin) => await admin.keys('hits:second:*'))).not.toEqual([])
    expect(await refusals()).toEqual([])
  })

  it('a Redis restarted with these users replays its append-only file whole: every hit counted before is still there', async () => {
    const durable = await RedisServer.start(['--aclfile', aclFile, '--appendonly', 'yes', '--appendfsync', 'always'], `admin:${password('admin').trim()}`)
    try {
      const app = await buildReadyApp(durable.url, 'acl-durable', { REDIS_USERNAME: 'worker', redisPassword: password('worker').trim() })
      for (let i = 0; i < 5; i++) expect((await app.inject('/')).statusCode).toBe(200)
      await app.close()
      await durable.stop()
      await durable.resume()
      expect(await durable.client(async (admin) => await admin.get('hits'))).toBe('5')
      expect(await durable.client(async (admin) => await admin.hget('hits:by-worker', 'acl-durable'))).toBe('5')
    } finally {
      await durable.stop()
    }
  })

  it('every command in the workers\' Lua scripts is one their user may run', async () => {
    const called = new Set<string>()
    for (const file of readdirSync('worker/src/lua')) {
      for (const [, command] of readFileSync(join('worker/src/lua', file), 'utf8').matchAll(/redis\.call\('([A-Za-z]+)'/g)) called.add(command!.toUpperCase())
    }
    expect(called.size).toBeGreaterThan(10)
    for (const command of called) expect(await dryRun('worker', command, KEY), command).toBe('OK')
  })

  it.each<[string, ...string[]]>([
    ['FLUSHALL'], ['CONFIG', 'SET', 'dir', '/tmp'], ['CONFIG', 'GET', 'dir'], ['KEYS', '*'], ['DEBUG', 'SLEEP', '0'],
    ['MODULE', 'LIST'], ['SCRIPT', 'FLUSH'], ['SET', 'elsewhere', '1'], ['INCRBY', 'elsewhere', '1']
  ])('the worker\'s user is refused %s', async (...command) => {
    expect(await dryRun('worker', ...command)).toMatch(/no permissions/)
    // DEBUG is off in Redis itself too (ERR): the others are tried for real.
    if (command[0] !== 'DEBUG') expect(await as('worker', ...command)).toBe('NOPERM')
  })

  it('a client without a password gets NOAUTH: there is no default user', async () => {
    expect(await unauthenticated('INCRBY hits 1000')).toMatch(/^-NOAUTH /)
    expect(await unauthenticated('CONFIG GET dir')).toMatch(/^-NOAUTH /)
  })

  it('the exporter\'s user reads the server\'s state and nothing else: no key, no write', async () => {
    expect(String(await as('exporter', 'INFO', 'server'))).toContain('redis_version')
    for (const command of [['SET', 'hits', '0'], ['GET', 'hits'], ['INCRBY', 'hits', '1'], ['CONFIG', 'SET', 'dir', '/tmp'], ['FLUSHALL']]) {
      expect(await as('exporter', ...command), command.join(' ')).toBe('NOPERM')
    }
  })
})

describe('the secrets', () => {
  it('Redis without the workers\' secret stops at start with a line naming it (redis/acl.sh, run by the image\'s start)', () => {
    const empty = mkdtempSync(join(tmpdir(), 'hitcounter-no-secrets-'))
    const run = spawnSync('sh', ['redis/acl.sh', 'redis'], { env: { ...process.env, SECRETS_DIR: empty }, encoding: 'utf8' })
    expect(run.status).toBe(2)
    expect(run.stderr).toBe(`hitcounter-acl: the secret redis-worker is missing or empty (${empty}/redis-worker)\n`)
    expect(run.stdout).toBe('')
  })

  it('a REDIS_PASSWORD_FILE that cannot be read stops the worker at start with a line naming it', async () => {
    const worker = WorkerProcess.spawn({ REDIS_URL: redis.url, REDIS_USERNAME: 'worker', REDIS_PASSWORD_FILE: join(secrets, 'redis-nobody') })
    expect((await worker.exited).code).toBe(2)
    expect(worker.output.trim().split('\n')).toEqual([`hitcounter worker: invalid configuration: REDIS_PASSWORD_FILE names ${join(secrets, 'redis-nobody')}, which cannot be read (ENOENT)`])
  })

  it('the worker logs in with its file, or with the user and password in REDIS_URL, and never logs the password', async () => {
    const url = new URL(redis.url)
    url.username = 'worker'
    url.password = password('worker').trim()
    for (const env of [{ REDIS_URL: redis.url, REDIS_USERNAME: 'worker', REDIS_PASSWORD_FILE: join(secrets, 'redis-worker') }, { REDIS_URL: url.href }]) {
      const worker = await WorkerProcess.start({ ...env, LOG_LEVEL: 'debug' })
      expect((await fetch(`${worker.url}/`)).status).toBe(200)
      await worker.stop()
      expect(worker.output).not.toContain(password('worker').trim())
    }
    const bad = WorkerProcess.spawn({ REDIS_URL: url.href.replace('redis:', 'http:') })
    expect((await bad.exited).code).toBe(2)
    expect(bad.output).toMatch(/REDIS_URL .*http:\/\/worker:\*\*\*@/)
    expect(bad.output).not.toContain(password('worker').trim())
    // A password with the characters a URL's userinfo ends at is hidden whole too.
    const odd = WorkerProcess.spawn({ REDIS_URL: 'http://worker:pa/ss@w:rd@redis:6379' })
    expect((await odd.exited).code).toBe(2)
    expect(odd.output).toContain('"http://worker:***@redis:6379"')
  })
})
