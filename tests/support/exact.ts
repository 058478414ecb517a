import { expect } from 'vitest'
import type { HitOutcome } from '../../tools/hits.js'
import type { StatsReply } from '../../worker/src/http/schemas.js'

/** The answers of a load, and the counter read before and after it. */
export interface Run { answers: HitOutcome[], before: StatsReply, after: StatsReply }

/** A run whose answers carry when each was sent (Load.sentAt, Date.now()). */
export type TimedRun = Run & { sentAt: number[] }

/** Hits answered per worker, and the counter's move per worker, side by side. */
function perWorker ({ answers, before, after }: Run): { answered: Record<string, number>, counted: Record<string, number> } {
  const answered: Record<string, number> = {}
  for (const { status, hostname } of answers) if (status === 200) answered[hostname] = (answered[hostname] ?? 0) + 1
  const counted: Record<string, number> = {}
  for (const [host, n] of Object.entries(after.workers)) {
    const moved = n - (before.workers[host] ?? 0)
    if (moved !== 0) counted[host] = moved
  }
  return { answered, counted }
}

/** No hit failed; the counter moved by exactly the hits answered, and each worker's count by the hits it answered. */
export function expectExact (what: string, run: Run): void {
  const failed = run.answers.filter((answer) => answer.status !== 200)
  const counted = run.after.total - run.before.total
  console.log(`${what}: ${run.answers.length} hits, ${failed.length} failed, counter +${counted}`)
  expect(failed).toEqual([])
  expect(counted).toBe(run.answers.length)
  const { answered, counted: countedPerWorker } = perWorker(run)
  expect(countedPerWorker).toEqual(answered)
}

/** A worker's own 503: the counter could not confirm the hit within its budget. */
export const counterUnavailable = (answer: HitOutcome): boolean =>
  answer.status === 503 && answer.hostname !== '' && answer.reason.startsWith('counter unavailable')

/** A fault's rule: which failed answers it may give, and when it is over (Date.now() times). */
export interface Fault {
  /** When the fault began: a hit answered before it must be a 200. */
  from: number
  /** From when every hit sent must be answered 200 again. */
  until: number
  /** The failed answers the fault may give (default: a worker's 503, counterUnavailable). */
  mayFail?: (answer: HitOutcome) => boolean
}

/** What a run through a fault did to the count. */
export interface FaultCount { answered: number, failed: number, counted: number, counted503: number }

/**
 * Through a fault that may fail hits, every answer accounted for: each failure
 * is one the fault may give, to a hit in flight while it lasted; hits were sent
 * after it, and all answered 200; every hit answered 200 was counted, each with
 * a number of its own; and the counter moved by no more than those and the hits
 * a worker answered 503. Such a 503 may have been counted: Redis ran the count,
 * but its confirmation (the reply, or a replica's WAIT) did not come within the
 * hit's budget. How many were is what the fault cost.
 */
export function expectCountedOnce (what: string, run: TimedRun, fault: Fault): FaultCount {
  const mayFail = fault.mayFail ?? counterUnavailable
  const ok = run.answers.filter((answer) => answer.status === 200)
  const failed = run.answers.flatMap((answer, i) => answer.status === 200 ? [] : [{ ...answer, sentAt: run.sentAt[i]! }])
  const fromWorkers503 = failed.filter((answer) => answer.status === 503 && answer.hostname !== '').length
  const counted = run.after.total - run.before.total
  console.log(`${what}: ${run.answers.length} hits, ${ok.length} answered 200, ${failed.length} failed (${fromWorkers503} answered 503 by a worker), ` +
    `counter +${counted} (${counted - ok.length} of those 503s counted)`)
  const outOfRule = failed.filter((answer) => !mayFail(answer) || answer.sentAt + answer.ms < fault.from || answer.sentAt > fault.until)
  expect(outOfRule.map((answer) => `${answer.status} ${answer.reason} (sent ${answer.sentAt - fault.from} ms after the fault began, ` +
    `${answer.sentAt - fault.until} ms after it ended)`)).toEqual([])
  expect(run.sentAt.filter((at) => at > fault.until).length, 'hits sent after the fault').toBeGreaterThan(0)
  expect(new Set(ok.map((answer) => answer.hits)).size).toBe(ok.length)
  expect(counted).toBeGreaterThanOrEqual(ok.length)
  expect(counted).toBeLessThanOrEqual(ok.length + fromWorkers503)
  return { answered: ok.length, failed: failed.length, counted, counted503: counted - ok.length }
}
