import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { HistoryReply, StatsReply } from '../http/schemas.js'
import { readStats } from './stats.js'
import { readHistory, startTally } from './history.js'

/** What the live view reads and keeps, apart from the count itself (counter/). */
export interface LiveView {
  /** The counts, the serving workers, the recent hits, Redis's time: GET /stats, the page's poll. */
  stats: () => Promise<StatsReply>
  /** Each worker's hits in each of the last seconds: the page's first paint. */
  history: () => Promise<HistoryReply>
  /** `hits` this worker just counted, for its part of the history. */
  counted: (hits: number) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    liveView: LiveView
  }
}

/** The live view's reads and this worker's hits per second, decorated as `app.liveView`. */
async function liveViewPlugin (app: FastifyInstance, opts: { hostname: string, timeoutMs: number }): Promise<void> {
  app.decorate('liveView', {
    counted: startTally(app, opts.hostname),
    async stats () {
      return await readStats(app, opts.timeoutMs)
    },
    async history () {
      return await readHistory(app, opts.timeoutMs)
    }
  })
}

export default fp(liveViewPlugin, { name: 'live-view', dependencies: ['redis', 'metrics'] })
