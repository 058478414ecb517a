import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer } from '../../harness/redis-server.js'
import { Sentinel } from '../support/sentinel.js'
import { WorkerProcess } from '../support/worker-process.js'
import { freePort, waitFor } from '../../harness/wait.js'

// The worker's output stays JSON while a sentinel is lost (its node gone), as
// in the Swarm stack, where each worker knows three: the failover detector
// connects to every sentinel once the worker reaches the primary, and ioredis
// printed each failed connection to stderr as "[ioredis] Unhandled error event"
// with a stack trace, until patches/ioredis+6.0.0.patch gave those connections
// an error listener (the worker logs what they report as JSON, at debug).
const NAME = 'hitcounter'
let primary: RedisServer
let sentinel: Sentinel
let worker: WorkerProcess

beforeAll(async () => {
  primary = await RedisServer.start()
  sentinel = await Sentinel.start(NAME, primary.port)
})
afterAll(async () => {
  await worker?.stop()
  await sentinel?.kill()
  await primary?.stop()
})

describe('a sentinel lost', () => {
  it('one of two sentinels gone: the worker counts, and every line it writes is a JSON line, the detector\'s failure among them', async () => {
    const lost = await freePort()
    worker = await WorkerProcess.start({
      REDIS_SENTINELS: `127.0.0.1:${sentinel.port},127.0.0.1:${lost}`, REDIS_PRIMARY_NAME: NAME, HOSTNAME: 'worker-l', LOG_LEVEL: 'debug'
    })
    await waitFor('the worker to count through the sentinel\'s primary', async () => (await fetch(`${worker.url}/readyz`)).ok, 10000, 100)
    expect((await fetch(`${worker.url}/`)).status).toBe(200)
    // Said one way or the other: logged (JSON), or printed (what ioredis does unpatched).
    await waitFor('the failover detector\'s failure to reach the lost sentinel', async () => worker.output.includes(String(lost)), 10000, 100)
    expect(worker.output.split('\n').filter((line) => line !== '' && !line.startsWith('{'))).toEqual([])
    expect(worker.logLines().filter((line) => line.msg === 'sentinel unreachable' && String(line.reason).includes(String(lost)))).not.toEqual([])
  })
})
