// How the workers' Redis calls fail, in one table: what each failure is called
// in the metrics, whether the same call may be tried again, and what the
// client is answered. Used by the counter (counter/) and the live view's
// reads (live-view/).
import { ReplyError } from 'ioredis'
import type { FastifyInstance } from 'fastify'

/** The calls the counter and the live view make, the only values of the metrics' `call` label. */
export type RedisCall = 'count_hits' | 'wait' | 'stats' | 'history'

/** The hits were not answered 200: Redis could not count them, or confirm them on a replica, in time. */
export class CounterUnavailableError extends Error {
  override name = 'CounterUnavailableError'
  readonly statusCode = 503
  constructor (cause: unknown) {
    super('counter unavailable: Redis is not reachable, try again shortly', { cause })
  }
}

/** Redis's own refusals after which the same call may succeed (a failover under way, no replica right now). */
const PASSING_REFUSALS = /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN)/

/**
 * A failed call, classified:
 * - `kind`, the `kind` label of hitcounter_redis_errors_total: Redis's own
 *   error code (READONLY, …), or what the client saw (a timeout, a lost
 *   connection); a bounded set, never a message;
 * - `retry`: the same call may be tried again: the connection was lost (the
 *   reply with it: a try by id tells whether it ran), or Redis refused for a
 *   moment; not after the budget ran out, a timeout, or any other reply;
 * - `answer`: what the client gets: connection trouble and passing refusals
 *   are a 503; any other error Redis replied with is a bug (500).
 */
export function classify (err: unknown): { kind: string, retry: boolean, answer: unknown } {
  if (err instanceof CounterUnavailableError) return { kind: 'unavailable', retry: false, answer: err }
  if (err instanceof ReplyError) {
    const message = (err as Error).message
    const passing = PASSING_REFUSALS.test(message)
    return { kind: /^[A-Z]{2,16}\b/.exec(message)?.[0]?.toLowerCase() ?? 'reply', retry: passing, answer: passing ? new CounterUnavailableError(err) : err }
  }
  const timedOut = err instanceof Error && err.message === 'Command timed out'
  return { kind: timedOut ? 'timeout' : 'connection', retry: !timedOut, answer: new CounterUnavailableError(err) }
}

/** `pending`, with its failure turned into the client's answer. */
export async function unlessUnavailable<T> (pending: Promise<T>): Promise<T> {
  try {
    return await pending
  } catch (err) {
    throw classify(err).answer
  }
}

/** `pending`, timed in hitcounter_redis_call_duration_seconds and, when it fails, counted by its kind. */
export async function measured<T> (app: FastifyInstance, call: RedisCall, pending: Promise<T>): Promise<T> {
  const started = performance.now()
  try {
    return await pending
  } catch (err) {
    app.metrics.redisErrors.inc({ call, kind: classify(err).kind })
    throw err
  } finally {
    app.metrics.redisCallSeconds.observe({ call }, (performance.now() - started) / 1000)
  }
}

/** Fails at once, as a 503, while Redis has been away longer than a hit may wait. */
export function unlessAwayTooLong (app: FastifyInstance, timeoutMs: number): void {
  if (app.redisAwayMs() > timeoutMs) throw new CounterUnavailableError(new Error(`Redis unreachable for ${Math.round(app.redisAwayMs())} ms`))
}

/** The values of a MULTI's replies; the first error among them is thrown. */
export function replyValues (replies: Array<[Error | null, unknown]> | null): unknown[] {
  return (replies ?? []).map(([err, value]) => {
    if (err !== null) throw err
    return value
  })
}

/** A hash's values as numbers (Redis replies with strings). */
export const numbers = (hash: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, Number(value)]))
