import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../../harness/wait.js'

/** A throw-away, real Redis Sentinel on 127.0.0.1 that watches one primary. */
export class Sentinel {
  private constructor (readonly port: number, private readonly process: ChildProcess) {}

  /** Watches the primary on `primaryPort` as `name`, and takes it for down after a second. */
  static async start (name: string, primaryPort: number): Promise<Sentinel> {
    const port = await freePort()
    const dir = await mkdtemp(join(tmpdir(), 'hitcounter-sentinel-'))
    const conf = join(dir, 'sentinel.conf')
    await writeFile(conf, [
      `port ${port}`, 'bind 127.0.0.1', `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 3000`, ''
    ].join('\n'))
    return new Sentinel(port, spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore', cwd: dir }))
  }

  /** One command to the sentinel, on a connection of its own. */
  async ask (...args: string[]): Promise<unknown> {
    const client = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      return await client.call(args[0]!, ...args.slice(1))
    } finally {
      client.disconnect()
    }
  }

  /** Gone at once, as with its node. */
  async kill (): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    this.process.kill('SIGKILL')
    await once(this.process, 'exit')
  }
}
