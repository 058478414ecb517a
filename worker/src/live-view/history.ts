import type { FastifyInstance } from 'fastify'
import type { HistoryReply } from '../http/schemas.js'
import { measured, numbers, replyValues, unlessAwayTooLong, unlessUnavailable } from '../redis/calls.js'
import { SecondTally } from './second-tally.js'

/**
 * Each second's new hits per worker, a hash per second (Redis's clock) kept
 * HISTORY_SECONDS: each worker writes its own once a second (TALLY_WRITE_MS),
 * once the second is over, so the history ends HISTORY_LAG_SECONDS before now.
 */
const SECOND_PREFIX = 'hits:second:'
export const HISTORY_SECONDS = 60
const TALLY_WRITE_MS = 1000
export const HISTORY_LAG_SECONDS = 2

const secondKey = (second: number): string => `${SECOND_PREFIX}${second}`

/** Writes the tally's seconds before `current` (Redis's clock) in one call; those not written stay in it. */
async function writeTally (app: FastifyInstance, hostname: string, tally: SecondTally, current: number): Promise<void> {
  if (app.redis.status !== 'ready') return
  const done = tally.takeBefore(current, Math.floor(await app.redisClock.now() / 1000) - HISTORY_SECONDS)
  if (done.length === 0) return
  const writes = app.redis.multi()
  for (const [second, hits] of done) writes.hincrby(secondKey(second), hostname, hits).expire(secondKey(second), HISTORY_SECONDS + 5, 'NX')
  // Not written (Redis went away, or a failover): written with the next second's.
  const written = await writes.exec().then((replies) => { replyValues(replies); return true }).catch(() => false)
  if (!written) tally.putBack(done)
}

/**
 * This worker's hits per second, written once a second (one call, none while
 * idle) rather than by every batch's script, and once more as the app closes.
 * Returns what takes the hits this worker just counted.
 */
export function startTally (app: FastifyInstance, hostname: string): (hits: number) => void {
  const tally = new SecondTally()
  const timer = setInterval(() => {
    app.redisClock.now().then(async (now) => { await writeTally(app, hostname, tally, Math.floor(now / 1000)) }).catch(() => {})
  }, TALLY_WRITE_MS).unref()
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await writeTally(app, hostname, tally, Infinity).catch(() => {})
  })
  return (hits) => {
    if (hits > 0) app.redisClock.now().then((now) => { tally.add(Math.floor(now / 1000), hits) }).catch(() => {})
  }
}

/** Each worker's hits in each second of the last minute that is over, read in one MULTI. */
export async function readHistory (app: FastifyInstance, timeoutMs: number): Promise<HistoryReply> {
  unlessAwayTooLong(app, timeoutMs)
  const now = await unlessUnavailable(app.redisClock.now())
  const last = Math.floor(now / 1000) - HISTORY_LAG_SECONDS
  const first = last - HISTORY_SECONDS + 1
  const reads = app.redis.multi()
  for (let second = first; second <= last; second++) reads.hgetall(secondKey(second))
  const perSecond = replyValues(await unlessUnavailable(measured(app, 'history', reads.exec()))) as Array<Record<string, string>>
  return { now, seconds: perSecond.map(numbers) }
}
