// Sending hits through the load balancer and reading its counts: the balance
// check (hitcounter-check) is built on these, and the tests and benchmark use them.
import { Value } from '@sinclair/typebox/value'
import { ErrorReplySchema, type HitReply, type StatsReply } from '../worker/src/schemas.js'

/**
 * What became of one hit sent: who answered (X-Served-By; '' when nginx itself
 * answered, or nothing did: status 0) and, for a failed hit, why (its ErrorReply's message).
 */
export interface HitOutcome { status: number, hostname: string, hits: number, ms: number, reason: string }

/** Why a hit was refused: its ErrorReply's message, or the start of whatever else came back. */
function failureReason (body: string): string {
  let reply: unknown
  try { reply = JSON.parse(body) } catch { reply = undefined }
  return Value.Check(ErrorReplySchema, reply) ? reply.message : body.trim().slice(0, 200)
}

/** One hit, asked as JSON so its number can be checked; never throws, gives up after `timeoutMs`. */
export async function hit (baseUrl: string, timeoutMs = 10000): Promise<HitOutcome> {
  const started = performance.now()
  try {
    const res = await fetch(new URL('/', baseUrl), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    const ms = performance.now() - started
    if (res.status !== 200) return { status: res.status, hostname: res.headers.get('x-served-by') ?? '', hits: NaN, ms, reason: failureReason(body) }
    const { hostname, hits } = JSON.parse(body) as HitReply
    return { status: res.status, hostname, hits, ms, reason: '' }
  } catch (err) {
    return { status: 0, hostname: '', hits: NaN, ms: performance.now() - started, reason: (err as Error).message }
  }
}

export async function readStats (baseUrl: string): Promise<StatsReply> {
  const res = await fetch(new URL('/stats', baseUrl), { signal: AbortSignal.timeout(10000) })
  if (!res.ok) throw new Error(`GET /stats answered ${res.status}`)
  return await res.json() as StatsReply
}

/**
 * `clients` loops, each sending its next hit when the last is answered, until
 * `limit` hits were sent or `stop()` is called. Answers are kept in arrival order.
 */
export class Load {
  readonly answers: HitOutcome[] = []
  private running = true
  private readonly done: Promise<unknown>

  constructor (send: () => Promise<HitOutcome>, clients: number, limit = Infinity, onAnswer?: (answers: HitOutcome[]) => void) {
    let started = 0
    this.done = Promise.all(Array.from({ length: clients }, async () => {
      while (this.running && started < limit) {
        started++
        const answer = await send()
        this.answers.push(answer)
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
