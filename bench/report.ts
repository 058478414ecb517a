// The benchmark's results as a Markdown page and two SVG charts.
import { CAP_CPU, CLIENTS_PER_WORKER, OPEN_LOOP_P99_MS, WORKER_CAP, type ScalingPoint } from './scaling.js'
import { uslAt, type UslFit } from './usl.js'
import type { StatsPoll } from './stats-poll.js'

export interface Case {
  name: string
  workers: number
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
  /** CPU µs per answered request, per part (nginx, worker, Redis, or a floor). */
  cpu_us: Record<string, number>
  /** The share of each container part's CPU spent in the kernel (its cgroup's system time). */
  kernel_share: Record<string, number>
}

export interface Goal { name: string, value: string, goal: string, met: boolean }

export interface Results {
  date: string
  method: string
  cases: Case[]
  scaling: ScalingPoint[]
  usl: { lambda: number, sigma: number, kappa: number, peak_n: number }
  /** Resident memory of a worker and of the bare Fastify floor, kB: idle (before any load) and at its peak under load. */
  memory: Record<'worker' | 'floor', { idle_kb: number, load_kb: number }>
  steady: { rate: number, seconds: number, p50_ms: number, p99_ms: number, max_ms: number, errors: number }
  idle: { busy_1: number, busy_n: number, workers: number, per_worker: number, scale_up_ms: number[] }
  start: {
    worker: { wall_ms: number, cpu_ms: number }
    floor: { wall_ms: number, cpu_ms: number }
    stack: { first_hit_ms: number, cpu_ms: number }
  }
  stats_poll: StatsPoll
  goals: Goal[]
}

const int = (n: number): string => Math.round(n).toLocaleString('en')
const fixed = (n: number, digits = 1): string => n.toFixed(digits)
const pct = (share: number): string => `${Math.round(100 * share)} %`
const mb = (kb: number): string => fixed(kb / 1024)

function scalingSection (r: Results): string[] {
  const one = r.scaling.find((p) => p.workers === 1)!
  const fit = (n: number): number => uslAt(r.usl, n)
  return [
    `## Scaling out: each worker capped at ${CAP_CPU} CPU (${WORKER_CAP.quotaUs / 1000} ms in every ${WORKER_CAP.periodUs / 1000} ms)`,
    '',
    'The load runs in nginx\'s network namespace (to its own 127.0.0.1: no docker-proxy, the cheapest honest path, so the ' +
      'two cores go to the stack). Each new worker is warmed uncapped first (a new process spends its first seconds ' +
      'compiling), then capped. **The headline is the closed loop**: wrk with ' +
      `${CLIENTS_PER_WORKER} connections per worker, enough that no capped worker waits for work (medians of the runs). The open loop ` +
      `(wrk holding a fixed rate, bench/wrk-open-loop.lua) gives the highest rate tried that was met with p99 ≤ ${OPEN_LOOP_P99_MS} ms and no error ` +
      '(rates tried: the closed loop\'s, then 85, 70, 55 and 40 % of it).',
    '',
    '![req/s by workers, measured and the USL fit](latest-scaling.svg)',
    '',
    '| workers | connections | req/s | × 1 worker | efficiency | USL fit | open loop, sustained | its p99 ms | p50 ms | p99 ms | errors |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.scaling.map((p) => `| ${p.workers} | ${p.connections} | ${int(p.rps)} | ${fixed(p.rps / one.rps, 2)} | ${fixed(p.rps / one.rps / p.workers, 2)} | ` +
      `${int(fit(p.workers))} | ${p.open.rate > 0 ? int(p.open.rate) : 'none'} | ${p.open.rate > 0 ? fixed(p.open.p99_ms, 0) : '–'} | ` +
      `${fixed(p.p50_ms, 1)} | ${fixed(p.p99_ms, 1)} | ${p.errors} |`),
    '',
    'Where the CPU went (µs per hit, from cgroups; the rest: the machine\'s busy time less the three, the load generator\'s ' +
      'included), how much of its cap or of the machine each part used, how often the quota held the workers, and what ' +
      'one Redis call and nginx\'s connections carried:',
    '',
    '| workers | nginx µs | workers µs | Redis µs | rest µs | workers, of their caps | nginx, of the machine | Redis, of the machine | cores busy | periods throttled | held, ms/s a worker (all cores\' queues) | hits per Redis call | new connections per 1,000 hits |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.scaling.map(({ workers, figures: f }) => `| ${workers} | ${fixed(f.cpu_us.nginx)} | ${fixed(f.cpu_us.workers)} | ${fixed(f.cpu_us.redis)} | ` +
      `${fixed(f.cpu_us.rest)} | ${pct(f.workers_of_cap)} | ${pct(f.nginx_of_machine)} | ${pct(f.redis_of_machine)} | ` +
      `${f.cores_busy.map(pct).join(', ')} | ${pct(f.throttled_periods)} | ${fixed(f.throttled_ms_per_s, 0)} | ${fixed(f.hits_per_call)} | ` +
      `${fixed(f.connections_per_1000, 1)} |`),
    '',
    'What limited each point:',
    '',
    ...r.scaling.map((p) => `- **${p.workers} worker${p.workers === 1 ? '' : 's'}**: ${p.limit}`),
    '',
    'The Universal Scalability Law fitted to the closed loop\'s points (λ = X(1); X(N) = λN / (1 + σ(N−1) + κN(N−1))): ' +
      `**σ = ${fixed(r.usl.sigma, 4)}** (contention), **κ = ${fixed(r.usl.kappa, 5)}** (coherency), ` +
      `${Number.isFinite(r.usl.peak_n) ? `peak at **N ≈ ${fixed(r.usl.peak_n, 1)}** workers` : 'no peak (κ = 0)'} ` +
      '([what they mean here](../../docs/benchmark.md#the-curve-as-a-model)).',
    ''
  ]
}

/** The goals, each with what was measured and whether it was met. */
function goalsSection (goals: Goal[]): string[] {
  return [
    '## Goals',
    '',
    '| goal | measured | target | met |',
    '| --- | ---: | ---: | :---: |',
    ...goals.map((g) => `| ${g.name} | ${g.value} | ${g.goal} | ${g.met ? 'yes' : '**no**'} |`),
    ''
  ]
}

/** A row per case: throughput, latency, errors, and each part's CPU µs per request. */
function casesSection (cases: Case[]): string[] {
  const parts = [...new Set(cases.flatMap((c) => Object.keys(c.cpu_us)))]
  return [
    '## Cases: throughput, latency, and CPU time per request of each part',
    '',
    `| case | workers | req/s | p50 ms | p99 ms | errors | ${parts.map((p) => `${p} µs`).join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ${parts.map(() => '---:').join(' | ')} |`,
    ...cases.map((c) => `| ${c.name} | ${c.workers || '–'} | ${int(c.rps)} | ${fixed(c.p50_ms, 2)} | ${fixed(c.p99_ms, 2)} | ${c.errors} | ` +
      parts.map((p) => (c.cpu_us[p] === undefined ? '–' : fixed(c.cpu_us[p]))).join(' | ') + ' |'),
    ''
  ]
}

/** A row per case: the kernel's share of each container's CPU. */
function kernelSection (cases: Case[]): string[] {
  const containers = [...new Set(cases.flatMap((c) => Object.keys(c.kernel_share)))]
  return [
    '## How much of each container\'s CPU is the kernel\'s',
    '',
    'System time from each cgroup: system calls and the network stack\'s work done on the container\'s behalf ' +
      '(on Linux, a packet sent to another container is mostly processed by the sender). User space is what code changes can cut.',
    '',
    `| case | ${containers.map((p) => `${p} kernel`).join(' | ')} |`,
    `| --- | ${containers.map(() => '---:').join(' | ')} |`,
    ...cases.map((c) => `| ${c.name} | ` +
      containers.map((p) => (c.kernel_share[p] === undefined ? '–' : `${fixed(100 * c.kernel_share[p], 0)} %`)).join(' | ') + ' |'),
    ''
  ]
}

/** A worker's and bare Fastify's resident memory, idle and under load. */
function memorySection (memory: Results['memory']): string[] {
  return [
    '## Memory',
    '',
    'Resident memory of the Node process (VmRSS idle, before its first load; VmHWM, its peak, after the load):',
    '',
    '| process | idle MB | under load MB |',
    '| --- | ---: | ---: |',
    `| worker | ${mb(memory.worker.idle_kb)} | ${mb(memory.worker.load_kb)} |`,
    `| bare Fastify | ${mb(memory.floor.idle_kb)} | ${mb(memory.floor.load_kb)} |`,
    `| worker ÷ bare Fastify | ${fixed(memory.worker.idle_kb / memory.floor.idle_kb, 2)}× | ${fixed(memory.worker.load_kb / memory.floor.load_kb, 2)}× |`,
    ''
  ]
}

/** Latency at a steady rate. */
function steadySection (steady: Results['steady']): string[] {
  return [
    `## A steady ${int(steady.rate)} hits/s for ${steady.seconds} s, 2 workers`,
    '',
    `p50 ${fixed(steady.p50_ms, 2)} ms, p99 ${fixed(steady.p99_ms, 2)} ms, max ${fixed(steady.max_ms, 2)} ms, ${steady.errors} errors.`,
    ''
  ]
}

/** What idle workers cost the machine, and how soon new ones served. */
function idleSection (idle: Results['idle']): string[] {
  return [
    '## Idle cost, and joining',
    '',
    `Idle, the machine was ${fixed(100 * idle.busy_1, 1)} % busy with 1 worker and ${fixed(100 * idle.busy_n, 1)} % with ` +
      `${idle.workers}: about ${fixed(100 * idle.per_worker, 2)} % of the machine per idle worker.`,
    `From \`up --scale worker=${idle.workers}\` to each new worker's first hit served: ` +
      `${int(Math.min(...idle.scale_up_ms))} ms for the first, ${int(Math.max(...idle.scale_up_ms))} ms for the last.`,
    ''
  ]
}

/** A worker's start, alone on the host against a bare Node server, and scaled up in the stack. */
function startSection (start: Results['start']): string[] {
  return [
    '## A worker\'s start',
    '',
    'Alone on the host, as the image runs it (one bundled file, compile cache warm), from `node` starting to `/readyz` ' +
      `answering: ${int(start.worker.wall_ms)} ms, ${int(start.worker.cpu_ms)} ms of CPU; a bare Node HTTP server, measured ` +
      `the same way: ${int(start.floor.wall_ms)} ms, ${int(start.floor.cpu_ms)} ms of CPU (medians of 5).`,
    `One more worker in the stack (\`up -d --no-recreate --scale\`): its first hit ${int(start.stack.first_hit_ms)} ms after ` +
      `\`up\` began, its container at ${int(start.stack.cpu_ms)} ms of CPU by then (medians of 3).`,
    ''
  ]
}

export function markdown (r: Results): string {
  return [
    `# Benchmark results (${r.date})`,
    '',
    r.method,
    '',
    ...goalsSection(r.goals),
    ...casesSection(r.cases),
    ...kernelSection(r.cases),
    ...scalingSection(r),
    ...memorySection(r.memory),
    ...steadySection(r.steady),
    ...idleSection(r.idle),
    ...startSection(r.start),
    ...statsPollSection(r.stats_poll)
  ].join('\n')
}

/** The workers' CPU per /stats poll, fresh and after scale cycles, before and after the gone workers were folded. */
function statsPollSection (p: StatsPoll): string[] {
  const row = (name: string, cost: { us: number, entries: number }, fresh: { us: number }): string =>
    `| ${name} | ${cost.entries} | ${fixed(cost.us / 1000, 2)} | ${fixed(cost.us / fresh.us, 2)}× |`
  return [
    `## A /stats poll after ${p.cycles} scale cycles`,
    '',
    'The workers\' CPU per `/stats` poll (the live view reads it every second), polls through nginx from 4 clients at once (the workers warm and healthy first, their idle use in as long subtracted), on a stack of its own ' +
      `with \`FOLD_AFTER_MS\` at its least: fresh, then after ${p.cycles} cycles ${p.workers.few} → ${p.workers.many} → ${p.workers.few} ` +
      `(${p.cycles * (p.workers.many - p.workers.few)} workers came and went, each counted a hit), before and after the gone ones were folded into \`earlier workers\`:`,
    '',
    '| stack | entries in /stats | ms a poll | ÷ fresh |',
    '| --- | ---: | ---: | ---: |',
    row(`fresh, ${p.workers.few} workers`, p.fresh.few, p.fresh.few),
    row(`fresh, ${p.workers.many} workers`, p.fresh.many, p.fresh.many),
    row(`after the cycles, ${p.workers.few} workers, not yet folded`, p.unfolded, p.fresh.few),
    row(`after the cycles, ${p.workers.few} workers, folded`, p.folded.few, p.fresh.few),
    row(`after the cycles, ${p.workers.many} workers, folded`, p.folded.many, p.fresh.many),
    ''
  ]
}

/** Horizontal bars, one per case: req/s. */
export function casesSvg (cases: Case[], connections: number): string {
  const barHeight = 28
  const gap = 10
  const left = 330
  const width = 960
  const most = Math.max(...cases.map((c) => c.rps))
  const bars = cases.map((c, i) => {
    const y = 40 + i * (barHeight + gap)
    const w = Math.max(2, ((width - left - 170) * c.rps) / most)
    return `<text x="${left - 10}" y="${y + 19}" text-anchor="end">${c.name}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="#1d4ed8"/>` +
      `<text x="${left + w + 8}" y="${y + 19}">${int(c.rps)} req/s · p99 ${fixed(c.p99_ms)} ms</text>`
  })
  const height = 60 + cases.length * (barHeight + gap)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="14" fill="#1b1f24">` +
    '<rect width="100%" height="100%" fill="#fff"/>' +
    `<text x="20" y="24" font-size="16" font-weight="bold">hitcounter: requests per second, ${connections} connections (higher is better)</text>` +
    bars.join('') + '</svg>\n'
}

/** req/s against the number of workers, each capped, with the USL's fit and linear scaling: the principle this project shows. */
export function scalingSvg (points: ReadonlyArray<{ workers: number, rps: number }>, fit: Pick<UslFit, 'at' | 'lambda'>): string {
  const width = 640
  const height = 380
  const left = 70
  const top = 50
  const bottom = 300
  const maxWorkers = Math.max(...points.map((p) => p.workers))
  const ns = Array.from({ length: 4 * (maxWorkers - 1) + 1 }, (_, i) => 1 + i / 4)
  const most = Math.max(...points.map((p) => p.rps), ...ns.map(fit.at)) * 1.15
  const x = (w: number): number => left + ((w - 1) / Math.max(1, maxWorkers - 1)) * (width - left - 40)
  const y = (rps: number): number => bottom - (Math.min(rps, most) / most) * (bottom - top)
  const path = (values: Array<[number, number]>): string => values.map(([w, rps]) => `${x(w).toFixed(1)},${y(rps).toFixed(1)}`).join(' ')
  const linear = ns.filter((n) => fit.lambda * n <= most).map((n): [number, number] => [n, fit.lambda * n])
  const dots = points.map((p) => `<circle cx="${x(p.workers).toFixed(1)}" cy="${y(p.rps).toFixed(1)}" r="5" fill="#1d4ed8"/>` +
    `<text x="${x(p.workers).toFixed(1)}" y="${(y(p.rps) - 12).toFixed(1)}" text-anchor="middle">${int(p.rps)}</text>` +
    `<text x="${x(p.workers).toFixed(1)}" y="${bottom + 22}" text-anchor="middle">${p.workers}</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="14" fill="#1b1f24">` +
    '<rect width="100%" height="100%" fill="#fff"/>' +
    `<text x="20" y="24" font-size="16" font-weight="bold">Scaling out: req/s with each worker capped at ${CAP_CPU} CPU</text>` +
    `<line x1="${left}" y1="${bottom}" x2="${width - 20}" y2="${bottom}" stroke="#9ca3af"/>` +
    `<text x="${(width + left) / 2}" y="${bottom + 48}" text-anchor="middle">workers</text>` +
    `<polyline points="${path(linear)}" fill="none" stroke="#9ca3af" stroke-width="2" stroke-dasharray="6 5"/>` +
    `<polyline points="${path(ns.map((n) => [n, fit.at(n)]))}" fill="none" stroke="#d97706" stroke-width="2.5"/>` +
    dots.join('') +
    `<g font-size="13"><line x1="${left}" y1="${height - 14}" x2="${left + 24}" y2="${height - 14}" stroke="#1d4ed8" stroke-width="3"/>` +
    `<text x="${left + 30}" y="${height - 10}">measured</text>` +
    `<line x1="${left + 120}" y1="${height - 14}" x2="${left + 144}" y2="${height - 14}" stroke="#d97706" stroke-width="2.5"/>` +
    `<text x="${left + 150}" y="${height - 10}">Universal Scalability Law, fitted</text>` +
    `<line x1="${left + 380}" y1="${height - 14}" x2="${left + 404}" y2="${height - 14}" stroke="#9ca3af" stroke-width="2" stroke-dasharray="6 5"/>` +
    `<text x="${left + 410}" y="${height - 10}">N × one worker</text></g>` +
    '</svg>\n'
}
