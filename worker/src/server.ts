import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

// The entry point: read config, listen, and shut down cleanly on SIGTERM/SIGINT.
let config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`hitcounter worker: ${err.message}\n`)
  process.exit(2)
}

const app = await buildApp(config, { processMetrics: true })

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ reason: err.message, errorName: err.name }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down: draining requests')
  // The listener closes (nginx sends new hits to the others); requests still arriving on open connections are
  // served with Connection: close (app.ts, http/drain.ts), in-flight ones finish; Redis closes last.
  await app.close()
  app.log.info('shut down')
})

await app.listen({ host: config.HOST, port: config.PORT })
