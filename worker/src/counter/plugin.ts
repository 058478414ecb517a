import fp from 'fastify-plugin'
import DataLoader from 'dataloader'
import type { FastifyInstance } from 'fastify'
import { defineCountHits, type CountedHit } from './count-hits.js'
import { countBatch, type CounterOptions } from './batch.js'

// The exactly-once client: each hit counted once by its id, in batches, tried
// again through lost replies, restarts and failovers within its budget, never
// counted after it was answered 503 (batch.ts, count-hits.ts). The live view's
// reads are live-view/.

export interface Counter {
  /** Counts the hit whose every try carries `hitId`: once, however often it is tried. */
  hit: (hitId: string) => Promise<CountedHit>
}

declare module 'fastify' {
  interface FastifyInstance {
    counter: Counter
  }
}

/** At most this many hits in one script call, so one call never holds Redis long. */
export const MAX_HITS_PER_CALL = 64

/** The exactly-once hit counter in Redis, decorated as `app.counter`. */
async function counterPlugin (app: FastifyInstance, opts: CounterOptions): Promise<void> {
  defineCountHits(app)
  // The hits of every connection read in one turn of the event loop go to
  // Redis in one call. setImmediate, not process.nextTick: Node runs the tick
  // queue after each connection's read, so a tick would hold one hit; the
  // check phase comes after all of that turn's reads. A lone hit waits no
  // timer, only for the end of its own turn.
  const batches = new DataLoader(async (hitIds: readonly string[]) => await countBatch(app, opts, hitIds), {
    cache: false,
    maxBatchSize: MAX_HITS_PER_CALL,
    batchScheduleFn: (send) => setImmediate(send)
  })

  app.decorate('counter', {
    async hit (hitId) {
      return await batches.load(hitId)
    }
  })
}

export default fp(counterPlugin, { name: 'counter', dependencies: ['redis', 'metrics', 'live-view'] })
