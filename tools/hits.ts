// Sending hits through the load balancer and reading its counts: the balance
// check (hitcounter-check) is built on these, and the tests and benchmark use them.
import { Value } from '@sinclair/typebox/value'
import { ErrorReplySchema, StatsReplySchema, type StatsReply } from '../worker/src/http/schemas.js'
import { backendOf, DEFAULT_SERVED_BY, parseServedBy, type ServedBy } from './served-by.js'

/**
 * What became of one hit sent: who answered (the backend its `servedBy` names,
 * hitcounter's X-Served-By by default; '' when the load balancer itself
 * answered, or nothing did: status 0), hitcounter's number for it (NaN from
 * another service), and, for a failed hit, why (its ErrorReply's message).
 */
export interface HitOutcome { status: number, hostname: string, hits: number, ms: number, reason: string }

const HITCOUNTER_SERVED_BY = parseServedBy(DEFAULT_SERVED_BY)

/** Why a hit was refused: its ErrorReply's message, or the start of whatever else came back. */
function failureReason (body: string): string {
  let reply: unknown
  try { reply = JSON.parse(body) } catch { reply = undefined }
  return Value.Check(ErrorReplySchema, reply) ? reply.message : body.replace(/\s+/g, ' ').trim().slice(0, 200)
}

/** hitcounter's number in a JSON answer, or NaN. */
function numberIn (body: string): number {
  try {
    const hits = (JSON.parse(body) as { hits?: unknown }).hits
    return typeof hits === 'number' ? hits : NaN
  } catch {
    return NaN
  }
}

/** One hit on `url`, asked as JSON so hitcounter's number can be checked; never throws, gives up after `timeoutMs`. */
export async function hit (url: string, timeoutMs = 10000, servedBy: ServedBy = HITCOUNTER_SERVED_BY): Promise<HitOutcome> {
  const started = performance.now()
  try {
    const res = await fetch(new URL(url), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    const ms = performance.now() - started
    const hostname = backendOf(servedBy, res.headers, body)
    if (res.status !== 200) return { status: res.status, hostname, hits: NaN, ms, reason: failureReason(body) }
    return { status: res.status, hostname, hits: numberIn(body), ms, reason: '' }
  } catch (err) {
    return { status: 0, hostname: '', hits: NaN, ms: performance.now() - started, reason: (err as Error).message }
  }
}

/** hitcounter's total, from its /stats; or why there is none (another service: the counter's checks are skipped). */
export async function counterTotal (baseUrl: string): Promise<{ total: number } | { missing: string }> {
  const where = new URL('/stats', baseUrl).href
  try {
    const res = await fetch(where, { signal: AbortSignal.timeout(10000) })
    if (!res.ok) return { missing: `GET ${where} answered ${res.status}` }
    const stats: unknown = await res.json().catch(() => undefined)
    return Value.Check(StatsReplySchema, stats) ? { total: stats.total } : { missing: `${where} is not hitcounter's /stats` }
  } catch (err) {
    return { missing: `cannot read ${where}: ${(err as Error).message}` }
  }
}

export async function readStats (baseUrl: string): Promise<StatsReply> {
  const res = await fetch(new URL('/stats', baseUrl), { signal: AbortSignal.timeout(10000) })
  if (!res.ok) throw new Error(`GET /stats answered ${res.status}`)
  return await res.json() as StatsReply
}

/**
 * `clients` loops, each sending its next hit when the last is answered, until
 * `limit` hits were sent or `stop()` is called. Answers are kept in arrival
 * order, and beside each, when it was sent (Date.now()).
 */
export class Load {
  readonly answers: HitOutcome[] = []
  readonly sentAt: number[] = []
  private running = true
  private readonly done: Promise<unknown>

  constructor (send: () => Promise<HitOutcome>, clients: number, limit = Infinity, onAnswer?: (answers: HitOutcome[]) => void) {
    let started = 0
    this.done = Promise.all(Array.from({ length: clients }, async () => {
      while (this.running && started < limit) {
        started++
        const sentAt = Date.now()
        const answer = await send()
        this.answers.push(answer)
        this.sentAt.push(sentAt)
        onAnswer?.(this.answers)
      }
    }))
  }

  async stop (): Promise<HitOutcome[]> {
    this.running = false
    await this.done
    return this.answers
  }

  async finished (): Promise<HitOutcome[]> {
    await this.done
    return this.answers
  }
}
