// How fast a worker starts, as the image runs it (the bundle, its compile cache
// warm): on the host, wall time and CPU from `node` starting to /readyz
// answering, beside a bare Node HTTP server's start measured the same way; and
// in the stack, one more worker: time from `up` to its first hit, and its
// container's CPU by then.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitFor } from '../harness/wait.js'
import { TICK_US } from '../harness/machine.js'
import { RedisServer } from '../harness/redis-server.js'
import type { Stack } from '../harness/stack.js'
import { cpuMicros } from './cpu.js'

export interface StartCost { wall_ms: number, cpu_ms: number }

/** A process's CPU so far (user + system), from /proc. */
async function processCpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * TICK_US) / 1000
}

/** Starts `node args`, polls `path` until it answers 200, then reads the process's CPU and stops it. */
async function timeStart (args: string[], env: Record<string, string>, path: string): Promise<StartCost> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, args, { env: { ...env, PORT: String(port) }, stdio: 'ignore' })
  try {
    await waitFor(`${args.join(' ')} to answer`, async () => await fetch(`http://127.0.0.1:${port}${path}`).then((res) => res.ok, () => false), 10000, 2)
    const wall = performance.now() - started
    return { wall_ms: wall, cpu_ms: await processCpuMs(child.pid!) }
  } finally {
    child.kill()
    await once(child, 'exit')
  }
}

const median = (costs: StartCost[], of: keyof StartCost): number => costs.map((cost) => cost[of]).sort((a, b) => a - b)[Math.floor(costs.length / 2)]!
const medians = (costs: StartCost[]): StartCost => ({ wall_ms: median(costs, 'wall_ms'), cpu_ms: median(costs, 'cpu_ms') })

/** The worker alone and the floor, `runs` starts each (medians). */
export async function hostStarts (runs = 5): Promise<{ worker: StartCost, floor: StartCost }> {
  const redis = await RedisServer.start()
  const cache = await mkdtemp(join(tmpdir(), 'hitcounter-compile-cache-'))
  try {
    const env = { PATH: process.env.PATH ?? '', REDIS_URL: redis.url, LOG_LEVEL: 'warn', NODE_COMPILE_CACHE: cache }
    // The first start fills the cache, as the image's build does.
    await timeStart(['dist/bundle/server.js'], env, '/readyz')
    const worker: StartCost[] = []
    const floor: StartCost[] = []
    for (let i = 0; i < runs; i++) {
      worker.push(await timeStart(['dist/bundle/server.js'], env, '/readyz'))
      floor.push(await timeStart(['-e', "require('node:http').createServer((_q, s) => s.end()).listen(process.env.PORT)"], env, '/'))
    }
    return { worker: medians(worker), floor: medians(floor) }
  } finally {
    await rm(cache, { recursive: true, force: true })
    await redis.stop()
  }
}

/** Scales the stack up by one worker, `runs` times: from `up` to the new worker's first hit, and its container's CPU by then (medians). */
export async function stackStarts (stack: Stack, runs = 3): Promise<{ first_hit_ms: number, cpu_ms: number }> {
  const costs: StartCost[] = []
  for (let i = 0; i < runs; i++) {
    const before = new Set(await stack.containerIds('worker'))
    const started = performance.now()
    await stack.run('up', '-d', '--no-recreate', '--scale', `worker=${before.size + 1}`)
    const id = (await stack.containerIds('worker')).find((candidate) => !before.has(candidate))!
    const host = id.slice(0, 12)
    await waitFor('the new worker to serve a hit', async () => (await stack.hit()).hostname === host, 30000, 5)
    const wall = performance.now() - started
    costs.push({ wall_ms: wall, cpu_ms: (await cpuMicros([id])).get(id)!.total / 1000 })
  }
  const { wall_ms: firstHit, cpu_ms: cpu } = medians(costs)
  return { first_hit_ms: firstHit, cpu_ms: cpu }
}
