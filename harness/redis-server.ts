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

  private constructor (readonly port: number, private readonly args: string[], private readonly login: string) {}

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** The URL this harness's own clients use: with `login`'s user and password when the server has ACL users. */
  private get ownUrl (): string {
    return this.login === '' ? this.url : `redis://${this.login}@127.0.0.1:${this.port}`
  }

  /**
   * `args`: more redis-server options, such as a replica's `--replicaof 127.0.0.1 PORT`;
   * `login`: "user:password" the harness logs in with, given an `--aclfile` without a default user.
   */
  static async start (args: string[] = [], login = ''): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), args, login)
    await server.resume()
    return server
  }

  /** Starts (again) on the same port, as a Redis that comes back after an outage; nothing when it runs. */
  async resume (): Promise<void> {
    if (this.process !== undefined && this.process.exitCode === null) return
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args], { stdio: 'ignore', cwd: this.dir })
    child.once('error', (err) => { throw new Error(`cannot start redis-server (is it installed? scripts/test.sh runs the suite in an image that has it): ${err.message}`) })
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
    const redis = new Redis(this.ownUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on('error', () => {})
    try {
      await redis.connect()
      return await use(redis)
    } finally {
      redis.disconnect()
    }
  }

  /** Runs `use` with this server frozen (freeze), and thaws it after, whether `use` succeeds or fails. */
  async frozenWhile<T> (use: () => Promise<T>): Promise<T> {
    await this.freeze()
    try {
      return await use()
    } finally {
      this.thaw()
    }
  }

  /**
   * Watches the script calls this server runs from now on (MONITOR), to wait
   * for one in particular: a hit's, by its id. `stop()` it when done.
   */
  async watchScripts (): Promise<ScriptWatch> {
    const client = new Redis(this.ownUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    try {
      const monitor = await client.monitor()
      monitor.on('error', () => {})
      return new ScriptWatch(monitor)
    } finally {
      client.disconnect()
    }
  }

  async flush (): Promise<void> {
    await this.client(async (redis) => await redis.flushall())
  }
}

/** The script calls (EVAL, EVALSHA) a server ran, seen through MONITOR: RedisServer.watchScripts. */
export class ScriptWatch {
  /** Each call's arguments, the command first, in the order Redis ran them. */
  readonly calls: string[][] = []

  constructor (private readonly monitor: Redis) {
    // The script's own commands come as lines of their own ("lua"), never as EVAL.
    monitor.on('monitor', (_time: string, args: string[]) => { if (/^eval(sha)?$/i.test(args[0] ?? '')) this.calls.push(args) })
  }

  /** The calls that carried `arg` (a hit's id) among their arguments. */
  carrying (arg: string): string[][] {
    return this.calls.filter((args) => args.includes(arg))
  }

  /**
   * Waits until Redis has run a script call carrying `arg`, and gives its
   * arguments. A monitor line arrives only once its command has run (Redis runs
   * one command at a time and writes to its clients between commands), so what
   * the call did, or did not do, is in place for any read sent after this.
   */
  async ran (arg: string, timeoutMs = 5000): Promise<string[]> {
    await waitFor(`Redis to run the script call carrying ${arg}`, async () => this.carrying(arg).length > 0, timeoutMs, 10)
    return this.carrying(arg)[0]!
  }

  stop (): void {
    this.monitor.disconnect()
  }
}
