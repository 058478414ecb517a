import type { FastifyInstance } from 'fastify'
import { buildApp, type AppConfig } from '../../worker/src/app.js'
import { waitFor } from '../../harness/wait.js'
import { RedisServer } from '../../harness/redis-server.js'

/** What Chromium sends when it loads a page. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

/** Builds the worker app (no listen) against `redisUrl` and waits until it can count. */
export async function buildReadyApp (redisUrl: string, hostname = 'worker-test', config: Partial<AppConfig> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ REDIS_URL: redisUrl, HOSTNAME: hostname, LOG_LEVEL: 'silent', REDIS_TIMEOUT_MS: 500, ...config })
  await app.ready()
  await waitFor('the app to reach Redis', async () => (await app.inject('/readyz')).statusCode === 200)
  return app
}

/** A throw-away Redis and the app against it, for a test file; `stop` closes both. */
export async function startAppWithRedis (hostname: string): Promise<{ redis: RedisServer, app: FastifyInstance, stop: () => Promise<void> }> {
  const redis = await RedisServer.start()
  const app = await buildReadyApp(redis.url, hostname)
  return { redis, app, stop: async () => { await app.close(); await redis.stop() } }
}
