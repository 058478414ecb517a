import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, waitFor } from './wait.js'

/** A throw-away, real redis-server on 127.0.0.1, with no persistence. */
export class RedisServer {
  private process: ChildProcess | undefined

  /** A folder of its own: a replica writes the data of a full sync there, and a Redis started there loads it. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'hitcounter-redis-'))

  private constructor (readonly port: number, private readonly args: string[]) {}

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** `args`: more redis-server options, such as a replica's `--replicaof 127.0.0.1 PORT`. */
  static async start (args: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), args)
    await server.resume()
    return server
  }

  /** Starts (again) on the same port, as a Redis that comes back after an outage; nothing when it runs. */
  async resume (): Promise<void> {
    if (this.process !== undefined && this.process.exitCode === null) return
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args], { stdio: 'ignore', cwd: this.dir })
    child.once('error', (err) => { throw new Error(`cannot start redis-server (is it installed? .ci/run installs it): ${err.message}`) })
    this.process = child
    await waitFor(`redis-server on port ${this.port}`, async () => await this.client(async (redis) => (await redis.ping()) === 'PONG').catch(() => false))
  }

  async stop (): Promise<void> {
    const child = this.process
    if (child === undefined || child.exitCode !== null) return
    this.process = undefined
    child.kill('SIGKILL')
    await once(child, 'exit')
  }

  /**
   * Stops the process where it is (SIGSTOP), as a machine that freezes: it
   * holds its connections and answers nothing. Returns once the kernel has stopped it.
   */
  async freeze (): Promise<void> {
    const pid = this.process?.pid
    if (pid === undefined) throw new Error('redis-server is not running')
    process.kill(pid, 'SIGSTOP')
    // /proc/PID/stat: "pid (comm) state ...": T once stopped.
    await waitFor('redis-server to be stopped', async () => / T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')')), 2000, 5)
  }

  /** Lets a frozen process run on (SIGCONT). */
  thaw (): void {
    if (this.process?.pid !== undefined) process.kill(this.process.pid, 'SIGCONT')
  }

  /** Runs `use` with a short-lived client of this server. */
  async client<T> (use: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on('error', () => {})
    try {
      await redis.connect()
      return await use(redis)
    } finally {
      redis.disconnect()
    }
  }

  /** How many script calls (EVALSHA, EVAL) this server has run, refused ones too: INFO commandstats. */
  async scriptCalls (): Promise<number> {
    const stats = await this.client(async (redis) => await redis.info('commandstats'))
    return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0)
  }

  /** Waits until a script call past the `before` calls has run: a stalled one, once Redis wakes. */
  async scriptRan (before: number): Promise<void> {
    await waitFor('Redis to run the stalled script', async () => await this.scriptCalls() > before, 5000)
  }

  async flush (): Promise<void> {
    await this.client(async (redis) => await redis.flushall())
  }
}
