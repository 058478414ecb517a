import { expect } from 'vitest'
import type { HitOutcome } from '../../tools/hits.js'
import type { StatsReply } from '../../worker/src/schemas.js'

/** The answers of a load, and the counter read before and after it. */
export interface Run { answers: HitOutcome[], before: StatsReply, after: StatsReply }

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
