// npm run bench: what does each part cost per hit, against its floor, and what
// did our design gain over the original demo's? Brings up the real stack
// (docker-compose.yml plus bench/docker-compose.bench.yml), drives it from the
// host on 127.0.0.1 only, and writes Markdown, JSON and SVG to bench/results/.
// Everything runs in one go, so the ratios hold on a noisy machine; CPU time
// per request comes from each container's cgroup accounting.
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { freePort, waitFor } from '../harness/wait.js'
import { Stack } from '../harness/stack.js'
import { cpuMicros, nodeMemory, processMicros, type CpuUse, type Memory } from './cpu.js'
import { casesSvg, markdown, scalingSvg, type Case, type Goal, type Results } from './report.js'
import { machineBusy, machineMicros } from '../harness/machine.js'
import { hostStarts, stackStarts } from './start.js'
import { median, wrk, wrkErrors, type Target } from './load.js'
import { scalingCurve } from './scaling.js'
import { scalingGoals } from './explain.js'
import { fitUsl, type UslFit } from './usl.js'
import { statsPollAfterChurn } from './stats-poll.js'

const run = promisify(execFile)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const SUSTAINED_S = Number(process.env.BENCH_SUSTAINED_S ?? 30)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 1000)
const SCALING_RUNS = Number(process.env.BENCH_SCALING_RUNS ?? 3)
const SCALING_S = Number(process.env.BENCH_SCALING_S ?? 6)
const SCALING_WARMUP_S = Number(process.env.BENCH_SCALING_WARMUP_S ?? 4)
const OPEN_LOOP_S = Number(process.env.BENCH_OPEN_LOOP_S ?? 5)
const IDLE_WORKERS = 11
const THREADS = 2
const RESULTS = 'bench/results'
/**
 * What a hit costs outside the stack's containers, on the host: Docker's
 * daemons (they carry every log line from a container's stdout to its log
 * file) and the published port's proxy. The rest of the machine's busy time
 * (the load generator, kernel work charged to no container) is the last part.
 */
const HOST_PARTS: Record<string, string[]> = {
  'docker daemons': ['dockerd', 'containerd', 'containerd-shim'],
  'docker-proxy': ['docker-proxy']
}
const REST = 'rest of the machine'
const NO_PROXY = 'no docker-proxy: '

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Warm-up, then `runs` measured runs of `seconds`: medians of req/s and
 * latency, and CPU µs per answered request of each part over all measured runs.
 */
async function measure (
  name: string, workers: number, target: string | Target, parts: Record<string, string[]>, runs = RUNS, seconds = DURATION_S
): Promise<Case> {
  const load = typeof target === 'string' ? { url: target } : target
  process.stderr.write(`bench: ${name} (${load.url}${load.insidePid === undefined ? '' : ', inside nginx\'s container'}) `)
  await wrk(load, WARMUP_S, CONNECTIONS)
  const ids = Object.values(parts).flat()
  const host = async (): Promise<number[]> => await Promise.all(Object.values(HOST_PARTS).map(processMicros))
  const [before, hostBefore, machineBefore] = [await cpuMicros(ids), await host(), await machineMicros()]
  const results = []
  for (let i = 0; i < runs; i++) {
    results.push(await wrk(load, seconds, CONNECTIONS))
    process.stderr.write('.')
  }
  const [after, hostAfter, machineAfter] = [await cpuMicros(ids), await host(), await machineMicros()]
  const errors = results.reduce((sum, r) => sum + wrkErrors(r), 0)
  const answered = results.reduce((sum, r) => sum + r.requests, 0) - errors
  const used = (partIds: string[], of: keyof CpuUse): number => partIds.reduce((sum, id) => sum + after.get(id)![of] - before.get(id)![of], 0)
  const cpu = Object.fromEntries(Object.entries(parts).map(([part, partIds]) => [part, used(partIds, 'total') / answered]))
  const kernel = Object.fromEntries(Object.entries(parts).map(([part, partIds]) => [part, used(partIds, 'kernel') / used(partIds, 'total')]))
  Object.keys(HOST_PARTS).forEach((part, i) => { cpu[part] = (hostAfter[i]! - hostBefore[i]!) / answered })
  const named = Object.values(cpu).reduce((sum, us) => sum + us, 0)
  cpu[REST] = (machineAfter.busy - machineBefore.busy) / answered - named
  const rps = median(results.map((r) => r.requests / (r.duration_us / 1e6)))
  process.stderr.write(` ${Math.round(rps)} req/s\n`)
  const p50 = median(results.map((r) => r.p50_us / 1000))
  return { name, workers, rps, p50_ms: p50, p99_ms: median(results.map((r) => r.p99_us / 1000)), errors, cpu_us: cpu, kernel_share: kernel }
}

/** Scales to `n` and times, from the command's start, each new worker's first hit served. */
async function timeScaleUp (stack: Stack, n: number): Promise<number[]> {
  const old = new Set(await stack.workerHostnames())
  const started = Date.now()
  await stack.run('up', '-d', '--no-recreate', '--scale', `worker=${n}`)
  const fresh = (await stack.workerHostnames()).filter((host) => !old.has(host))
  const firstHit = new Map<string, number>()
  await waitFor('each new worker to serve', async () => {
    const res = await fetch(stack.url, { headers: { accept: 'application/json' } })
    if (res.ok) {
      const { hostname } = await res.json() as { hostname: string }
      if (!firstHit.has(hostname)) firstHit.set(hostname, Date.now() - started)
    }
    return fresh.every((host) => firstHit.has(host))
  }, 90000, 10)
  return fresh.map((host) => firstHit.get(host)!)
}

async function steady (url: string): Promise<Results['steady']> {
  process.stderr.write(`bench: a steady ${STEADY_RATE} hits/s for 20 s (wrk at a fixed rate)\n`)
  const result = await wrk({ url }, 20, 20, STEADY_RATE)
  const ms = (us: number): number => us / 1000
  const { p50_us: p50, p99_us: p99, max_us: max } = result
  return { rate: STEADY_RATE, seconds: 20, p50_ms: ms(p50), p99_ms: ms(p99), max_ms: ms(max), errors: wrkErrors(result) }
}

/** Fails with how to install wrk when it is not on PATH. */
async function requireWrk (): Promise<void> {
  await run('wrk', ['--version']).catch((err: { code?: string }) => {
    if (err.code === 'ENOENT') throw new Error('wrk is not installed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)')
  })
}

/** Where the cases send their load: through nginx, to a worker direct, to the original demo's nginx and to the bare Fastify floor. */
interface Urls { stack: string, direct: string, original: string, floor: string }

/** The containers of nginx, of Redis and of the original demo's nginx, which the cases measure. */
interface Parts { web: string[], redis: string[], originalWeb: string[] }

/** Resident memory of the Node process in a service's first container. */
const memoryOf = async (stack: Stack, service: string): Promise<Memory> => await nodeMemory((await stack.containerIds(service))[0]!)

/**
 * One worker: nginx's and bare Fastify's floors, a worker with no load balancer,
 * the full path; and the memory of a worker and of the floor, idle before these
 * loads and at its peak after them.
 */
async function oneWorkerCases (stack: Stack, urls: Urls, { web, redis }: Parts): Promise<{ cases: Case[], memory: Results['memory'] }> {
  const ids = async (service: string): Promise<string[]> => await stack.containerIds(service)
  const idle = { worker: await memoryOf(stack, 'worker'), floor: await memoryOf(stack, 'fastify-floor') }
  const cases: Case[] = [
    await measure('nginx ceiling: return 200 (floor)', 0, `${urls.stack}/nginx-health`, { nginx: web }),
    await measure('bare Fastify GET / (floor)', 1, `${urls.floor}/`, { worker: await ids('fastify-floor') }),
    await measure('one worker, no load balancer', 1, `${urls.direct}/`, { worker: await ids('worker-direct'), redis }),
    await measure('full path, 1 worker', 1, `${urls.stack}/`, { nginx: web, worker: await ids('worker'), redis })
  ]
  const loaded = { worker: await memoryOf(stack, 'worker'), floor: await memoryOf(stack, 'fastify-floor') }
  const memory: Results['memory'] = {
    worker: { idle_kb: idle.worker.rssKb, load_kb: loaded.worker.peakKb },
    floor: { idle_kb: idle.floor.rssKb, load_kb: loaded.floor.peakKb }
  }
  return { cases, memory }
}

/**
 * Two workers: the full path, with Redis's fsync once a second, without
 * docker-proxy, and sustained, ours and the original demo's nginx; and the pid
 * of nginx's container, whose network namespace the load ran in without docker-proxy.
 */
async function twoWorkerCases (stack: Stack, urls: Urls, { web, redis, originalWeb }: Parts): Promise<{ cases: Case[], insidePid: string }> {
  const fullPath = async (nginx = web): Promise<Record<string, string[]>> => ({ nginx, worker: await stack.containerIds('worker'), redis })
  await stack.scaleTo(2)
  const cases = [await measure('full path, 2 workers', 2, `${urls.stack}/`, await fullPath())]
  // What the fsync before each batch's answers costs (appendfsync always: a
  // Redis crash loses no answered hit), against Redis's default, once a second.
  const fsync = async (policy: string): Promise<void> => { await stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'CONFIG', 'SET', 'appendfsync', policy) }
  await fsync('everysec')
  cases.push(await measure('full path, 2 workers, Redis fsync once a second (not once a batch)', 2, `${urls.stack}/`, await fullPath()))
  await fsync('always')
  // The same from inside nginx's container (wrk in its network namespace, to
  // its own 127.0.0.1): what Docker's port proxy adds to every hit.
  const insidePid = await stack.inspect(web[0]!, '{{.State.Pid}}')
  cases.push(await measure(NO_PROXY + 'nginx ceiling', 0, { url: 'http://127.0.0.1/nginx-health', insidePid }, { nginx: web }))
  cases.push(await measure(NO_PROXY + 'full path, 2 workers', 2, { url: 'http://127.0.0.1/', insidePid }, await fullPath()))
  cases.push(await measure(`full path, 2 workers, sustained ${SUSTAINED_S} s`, 2, `${urls.stack}/`, await fullPath(), 1, SUSTAINED_S))
  cases.push(await measure(`original demo's nginx, 2 workers, sustained ${SUSTAINED_S} s`, 2, `${urls.original}/`, await fullPath(originalWeb), 1, SUSTAINED_S))
  return { cases, insidePid }
}

/** The machine's busy share, idle, with 1 worker and with IDLE_WORKERS, and from `up --scale` to each new worker's first hit. */
async function idleCost (stack: Stack): Promise<Results['idle']> {
  process.stderr.write(`bench: idle cost with 1 and ${IDLE_WORKERS} workers (20 s each)\n`)
  await stack.scaleTo(1)
  await sleep(10000)
  const busy1 = await machineBusy(20000)
  const scaleUpMs = await timeScaleUp(stack, IDLE_WORKERS)
  await sleep(15000)
  const busyN = await machineBusy(20000)
  return { busy_1: busy1, busy_n: busyN, workers: IDLE_WORKERS, per_worker: (busyN - busy1) / (IDLE_WORKERS - 1), scale_up_ms: scaleUpMs }
}

/** A worker's start, alone on the host and scaled up in the stack. */
async function startCost (stack: Stack): Promise<Results['start']> {
  process.stderr.write('bench: a worker\'s start, alone on the host and scaled up in the stack\n')
  return { ...await hostStarts(), stack: await stackStarts(stack) }
}

const METHOD = `wrk -t${THREADS} -c${CONNECTIONS} on 127.0.0.1 through Docker's published ports: ${WARMUP_S} s of warm-up, then ${RUNS} runs of ` +
  `${DURATION_S} s (medians), or one run of ${SUSTAINED_S} s where it says sustained. CPU µs per answered request of each ` +
  'part from its container\'s cgroup accounting over the measured runs; Docker\'s daemons and docker-proxy from their ' +
  `processes' times; ${REST}: the machine's busy time (both cores, /proc/stat) less the other parts, wrk's included.`

const goal = (name: string, value: number, target: number, unit: string, atMost: boolean): Goal =>
  ({ name, value: `${value.toFixed(unit === '×' ? 2 : 1)}${unit}`, goal: `${atMost ? '≤' : '≥'} ${target}${unit}`, met: atMost ? value <= target : value >= target })

/** The goals the measurements are held to: the scaling curve's, then each part's cost against its floor, latency, start, memory and /stats. */
function goals ({ cases, scaling, start, memory, stats_poll: statsPoll }: Omit<Results, 'date' | 'method' | 'goals'>): Goal[] {
  const byName = (prefix: string): Case => cases.find((c) => c.name.startsWith(prefix))!
  const ceiling = byName('nginx ceiling')
  const fastify = byName('bare Fastify')
  const one = byName('full path, 1 worker')
  const two = byName('full path, 2 workers')
  const ours = byName('full path, 2 workers, sustained')
  const theirs = byName('original demo')
  return [
    ...scalingGoals(scaling),
    goal('worker CPU per hit ÷ bare Fastify floor (1 worker behind nginx)', one.cpu_us.worker! / fastify.cpu_us.worker!, 1.6, '×', true),
    goal('nginx CPU per hit ÷ its return-200 floor (1 worker)', one.cpu_us.nginx! / ceiling.cpu_us.nginx!, 2.5, '×', true),
    goal('Redis CPU per hit', one.cpu_us.redis!, 15, ' µs', true),
    goal('full path, 2 workers: share of the nginx ceiling\'s req/s', (100 * two.rps) / ceiling.rps, 20, ' %', false),
    goal(`p99 at ${CONNECTIONS} connections, 2 workers`, two.p99_ms, 30, ' ms', true),
    goal('ours ÷ the original design, sustained req/s', ours.rps / theirs.rps, 10, '×', false),
    goal('a worker\'s CPU from start to ready (alone)', start.worker.cpu_ms, 300, ' ms', true),
    goal('… ÷ a bare Node server\'s start', start.worker.cpu_ms / start.floor.cpu_ms, 6, '×', true),
    goal('one more worker in the stack: its first hit after `up`', start.stack.first_hit_ms / 1000, 2.5, ' s', true),
    goal('… its container\'s CPU by then', start.stack.cpu_ms, 300, ' ms', true),
    goal('a worker\'s memory under load ÷ bare Fastify\'s (peak resident)', memory.worker.load_kb / memory.floor.load_kb, 1.5, '×', true),
    ...(['few', 'many'] as const).map((size) => goal(`a /stats poll at ${statsPoll.workers[size]} workers after ${statsPoll.cycles} scale cycles ÷ on a fresh stack (workers' CPU)`,
      statsPoll.folded[size].us / statsPoll.fresh[size].us, 1.3, '×', true))
  ]
}

/** Every measurement, in the order they run on the one stack, and the goals; with the USL's fit, for its chart. */
async function measureAll (stack: Stack, urls: Urls): Promise<{ results: Results, usl: UslFit }> {
  const answers = async (url: string): Promise<boolean> => await fetch(url).then((r) => r.ok, () => false)
  await waitFor('the direct worker, the Fastify floor and the original nginx', async () =>
    (await Promise.all([`${urls.direct}/readyz`, urls.floor, urls.original].map(answers))).every(Boolean), 60000, 200)
  const ids = async (service: string): Promise<string[]> => await stack.containerIds(service)
  const parts: Parts = { web: await ids('web'), redis: await ids('redis'), originalWeb: await ids('web-original') }
  const one = await oneWorkerCases(stack, urls, parts)
  const two = await twoWorkerCases(stack, urls, parts)
  const steadyResult = await steady(`${urls.stack}/`)
  // The principle, as a curve: each worker capped at a tenth of a CPU, so
  // workers are the limit until the machine's 2 cores are.
  const scaling = await scalingCurve(stack, { url: 'http://127.0.0.1/', insidePid: two.insidePid }, {
    runs: SCALING_RUNS, seconds: SCALING_S, warmupS: SCALING_WARMUP_S, openLoopS: OPEN_LOOP_S
  })
  const usl = fitUsl(scaling)
  const idle = await idleCost(stack)
  const start = await startCost(stack)
  await stack.scaleTo(1)
  const statsPoll = await statsPollAfterChurn()
  const measured = {
    cases: [...one.cases, ...two.cases],
    scaling,
    usl: { lambda: usl.lambda, sigma: usl.sigma, kappa: usl.kappa, peak_n: usl.peakN },
    memory: one.memory,
    steady: steadyResult,
    idle,
    start,
    stats_poll: statsPoll
  }
  return { results: { date: new Date().toISOString(), method: METHOD, ...measured, goals: goals(measured) }, usl }
}

/** The results as Markdown, JSON and two SVG charts in bench/results/, and the Markdown on stdout. */
async function writeResults (results: Results, usl: UslFit): Promise<void> {
  await mkdir(RESULTS, { recursive: true })
  await writeFile(`${RESULTS}/latest.md`, markdown(results))
  await writeFile(`${RESULTS}/latest.json`, JSON.stringify(results, null, 2) + '\n')
  await writeFile(`${RESULTS}/latest.svg`, casesSvg(results.cases, CONNECTIONS))
  await writeFile(`${RESULTS}/latest-scaling.svg`, scalingSvg(results.scaling, usl))
  process.stdout.write(markdown(results))
  process.stderr.write(`bench: wrote ${RESULTS}/latest.md, latest.json, latest.svg, latest-scaling.svg\n`)
}

async function main (): Promise<void> {
  await requireWrk()
  const env = {
    BENCH_WORKER_PORT: String(await freePort()),
    BENCH_ORIGINAL_PORT: String(await freePort()),
    BENCH_FLOOR_PORT: String(await freePort())
  }
  process.stderr.write('bench: bringing up the stack\n')
  const stack = await Stack.up(1, { project: `hitcounter-bench-${process.pid}`, durable: true, files: ['bench/docker-compose.bench.yml'], env })
  const urls: Urls = {
    stack: stack.url,
    direct: `http://127.0.0.1:${env.BENCH_WORKER_PORT}`,
    original: `http://127.0.0.1:${env.BENCH_ORIGINAL_PORT}`,
    floor: `http://127.0.0.1:${env.BENCH_FLOOR_PORT}`
  }
  try {
    const { results, usl } = await measureAll(stack, urls)
    await writeResults(results, usl)
  } finally {
    await stack.down()
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`)
  process.exitCode = 1
})
