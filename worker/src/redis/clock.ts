import type { Redis } from 'ioredis'

/** How often this worker reads Redis's clock again (it drifts by milliseconds a day, not more). */
export const CLOCK_SYNC_MS = 10000

/**
 * Redis's clock as seen from this process: Redis's TIME against this process's
 * monotonic clock, taken as read at the end of its round trip, the latest it can
 * have been read: so Redis's clock is never taken to be ahead of where it is,
 * and a deadline set on it is never later than meant, even when Redis answered
 * after a stall (a read that took 400 ms, taken at its midpoint, set a deadline
 * 187 ms late). A quick read is off by no more than its round trip. No clock
 * needs to agree with another. Read again on every (re)connect: after a
 * failover the primary is another machine, with a clock of its own.
 */
export class RedisClock {
  private offsetMs: number | undefined

  constructor (private readonly redis: Redis) {}

  async sync (): Promise<void> {
    const [seconds, micros] = await this.redis.time()
    this.offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - performance.now()
  }

  /** Now on Redis's clock, in ms since the epoch; read first when it was never read. */
  async now (): Promise<number> {
    const offset = await this.offset()
    return performance.now() + offset
  }

  /**
   * `instant` (a performance.now() reading) on Redis's clock: the same moment
   * however long the first read takes, so a deadline set this way never moves.
   */
  async at (instant: number): Promise<number> {
    return instant + await this.offset()
  }

  private async offset (): Promise<number> {
    if (this.offsetMs === undefined) await this.sync()
    return this.offsetMs!
  }
}
