// Sending hits through the load balancer and reading its counts: the balance
// check (hitcounter-check) is built on these, and the tests and benchmark use them.
import { Value } from '@sinclair/typebox/value'
import { ErrorReplySchema, type HitReply, type StatsReply } from '../worker/src/schemas.js'

/** What became of one hit sent: for a failed one, `hostname` holds who refused it and why (status 0: no HTTP answer at all). */
export interface HitOutcome { status: number, hostname: string, hits: number, ms: number }

/** Who refused a hit and why: the worker (X-Served-By) or nginx, and the ErrorReply's message. */
function failureReason (res: Response, body: string): string {
  let reply: unknown
  try { reply = JSON.parse(body) } catch { reply = undefined }
  const why = Value.Check(ErrorReplySchema, reply) ? reply.message : body.trim().slice(0, 200)
  return `${res.headers.get('x-served-by') ?? 'nginx'}: ${why}`
}

/** One hit, asked as JSON so its number can be checked; never throws, gives up after `timeoutMs`. */
export async function hit (baseUrl: string, timeoutMs = 10000): Promise<HitOutcome> {
  const started = performance.now()
  try {
    const res = await fetch(new URL('/', baseUrl), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
    const body = await res.text()
    const ms = performance.now() - started
    if (res.status !== 200) return { status: res.status, hostname: failureReason(res, body), hits: NaN, ms }
    const { hostname, hits } = JSON.parse(body) as HitReply
    return { status: res.status, hostname, hits, ms }
  } catch (err) {
    return { status: 0, hostname: (err as Error).message, hits: NaN, ms: performance.now() - started }
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
