import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'

/**
 * A TCP proxy in front of a real Redis that can lose one reply: the reply to
 * the next command that carries `marker` is dropped and the connection cut, as
 * when a network or a Redis process fails after running a command but before
 * its answer arrives. Everything else passes through untouched. It also tells
 * when a command carrying a marker has passed on to Redis (a hit's id: the
 * hit is then in flight, waiting on Redis).
 */
export class ReplyDroppingProxy {
  /** How many replies were dropped so far. */
  dropped = 0
  private marker: string | undefined
  private readonly watched = new Map<string, () => void>()
  private readonly sockets = new Set<Socket>()
  private readonly server = createServer((client) => { this.pass(client) })

  private constructor (private readonly redisPort: number) {}

  get url (): string {
    const address = this.server.address()
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening')
    return `redis://127.0.0.1:${address.port}`
  }

  static async start (redisPort: number): Promise<ReplyDroppingProxy> {
    const proxy = new ReplyDroppingProxy(redisPort)
    proxy.server.listen(0, '127.0.0.1')
    await once(proxy.server, 'listening')
    return proxy
  }

  /** The reply to the next command whose bytes include `marker` is lost, with its connection. */
  dropReplyTo (marker: string): void {
    this.marker = marker
  }

  /** Resolves once a command whose bytes include `marker` has been passed on to Redis. */
  async passed (marker: string): Promise<void> {
    await new Promise<void>((resolve) => { this.watched.set(marker, resolve) })
  }

  async stop (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }

  private pass (client: Socket): void {
    const redis = connect(this.redisPort, '127.0.0.1')
    this.sockets.add(client).add(redis)
    let dropNextReply = false
    const cut = (): void => { client.destroy(); redis.destroy() }
    client.on('data', (chunk) => {
      if (this.marker !== undefined && chunk.includes(this.marker)) {
        this.marker = undefined
        dropNextReply = true
      }
      redis.write(chunk)
      for (const [marker, resolve] of this.watched) {
        if (!chunk.includes(marker)) continue
        this.watched.delete(marker)
        resolve()
      }
    })
    redis.on('data', (chunk) => {
      if (!dropNextReply) {
        client.write(chunk)
        return
      }
      dropNextReply = false
      this.dropped++
      cut()
    })
    for (const socket of [client, redis]) socket.on('error', cut).on('close', cut)
  }
}
