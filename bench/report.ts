// The benchmark's results as a Markdown page and two SVG charts.

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
  scaling: Array<{ workers: number, rps: number }>
  steady: { rate: number, seconds: number, p50_ms: number, p99_ms: number, max_ms: number, errors: number }
  idle: { busy_1: number, busy_n: number, workers: number, per_worker: number, scale_up_ms: number[] }
  start: {
    worker: { wall_ms: number, cpu_ms: number }
    floor: { wall_ms: number, cpu_ms: number }
    stack: { first_hit_ms: number, cpu_ms: number }
  }
  goals: Goal[]
}

const int = (n: number): string => Math.round(n).toLocaleString('en')
const fixed = (n: number, digits = 1): string => n.toFixed(digits)

export function markdown (r: Results): string {
  const parts = [...new Set(r.cases.flatMap((c) => Object.keys(c.cpu_us)))]
  const containers = [...new Set(r.cases.flatMap((c) => Object.keys(c.kernel_share)))]
  return [
    `# Benchmark results (${r.date})`,
    '',
    r.method,
    '',
    '## Goals',
    '',
    '| goal | measured | target | met |',
    '| --- | ---: | ---: | :---: |',
    ...r.goals.map((g) => `| ${g.name} | ${g.value} | ${g.goal} | ${g.met ? 'yes' : '**no**'} |`),
    '',
    '## Cases: throughput, latency, and CPU time per request of each part',
    '',
    `| case | workers | req/s | p50 ms | p99 ms | errors | ${parts.map((p) => `${p} µs`).join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ${parts.map(() => '---:').join(' | ')} |`,
    ...r.cases.map((c) => `| ${c.name} | ${c.workers || '–'} | ${int(c.rps)} | ${fixed(c.p50_ms, 2)} | ${fixed(c.p99_ms, 2)} | ${c.errors} | ` +
      parts.map((p) => (c.cpu_us[p] === undefined ? '–' : fixed(c.cpu_us[p]))).join(' | ') + ' |'),
    '',
    '## How much of each container\'s CPU is the kernel\'s',
    '',
    'System time from each cgroup: system calls and the network stack\'s work done on the container\'s behalf ' +
      '(on Linux, a packet sent to another container is mostly processed by the sender). User space is what code changes can cut.',
    '',
    `| case | ${containers.map((p) => `${p} kernel`).join(' | ')} |`,
    `| --- | ${containers.map(() => '---:').join(' | ')} |`,
    ...r.cases.map((c) => `| ${c.name} | ` +
      containers.map((p) => (c.kernel_share[p] === undefined ? '–' : `${fixed(100 * c.kernel_share[p], 0)} %`)).join(' | ') + ' |'),
    '',
    '## Scaling out: each worker capped at 0.1 CPU (1 ms in every 10 ms)',
    '',
    '![req/s by workers](latest-scaling.svg)',
    '',
    '| workers | req/s |',
    '| ---: | ---: |',
    ...r.scaling.map((s) => `| ${s.workers} | ${int(s.rps)} |`),
    '',
    `## A steady ${int(r.steady.rate)} hits/s for ${r.steady.seconds} s, 2 workers`,
    '',
    `p50 ${fixed(r.steady.p50_ms, 2)} ms, p99 ${fixed(r.steady.p99_ms, 2)} ms, max ${fixed(r.steady.max_ms, 2)} ms, ${r.steady.errors} errors.`,
    '',
    '## Idle cost, and joining',
    '',
    `Idle, the machine was ${fixed(100 * r.idle.busy_1, 1)} % busy with 1 worker and ${fixed(100 * r.idle.busy_n, 1)} % with ` +
      `${r.idle.workers}: about ${fixed(100 * r.idle.per_worker, 2)} % of the machine per idle worker.`,
    `From \`up --scale worker=${r.idle.workers}\` to each new worker's first hit served: ` +
      `${int(Math.min(...r.idle.scale_up_ms))} ms for the first, ${int(Math.max(...r.idle.scale_up_ms))} ms for the last.`,
    '',
    '## A worker\'s start',
    '',
    'Alone on the host, as the image runs it (one bundled file, compile cache warm), from `node` starting to `/readyz` ' +
      `answering: ${int(r.start.worker.wall_ms)} ms, ${int(r.start.worker.cpu_ms)} ms of CPU; a bare Node HTTP server, measured ` +
      `the same way: ${int(r.start.floor.wall_ms)} ms, ${int(r.start.floor.cpu_ms)} ms of CPU (medians of 5).`,
    `One more worker in the stack (\`up -d --no-recreate --scale\`): its first hit ${int(r.start.stack.first_hit_ms)} ms after ` +
      `\`up\` began, its container at ${int(r.start.stack.cpu_ms)} ms of CPU by then (medians of 3).`,
    ''
  ].join('\n')
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

/** req/s against the number of workers, each capped: the principle this project shows. */
export function scalingSvg (points: Array<{ workers: number, rps: number }>): string {
  const width = 640
  const height = 360
  const left = 70
  const bottom = 300
  const most = Math.max(...points.map((p) => p.rps)) * 1.15
  const maxWorkers = Math.max(...points.map((p) => p.workers))
  const x = (w: number): number => left + ((w - 1) / Math.max(1, maxWorkers - 1)) * (width - left - 40)
  const y = (rps: number): number => bottom - (rps / most) * (bottom - 50)
  const line = points.map((p) => `${x(p.workers).toFixed(1)},${y(p.rps).toFixed(1)}`).join(' ')
  const dots = points.map((p) => `<circle cx="${x(p.workers).toFixed(1)}" cy="${y(p.rps).toFixed(1)}" r="5" fill="#1d4ed8"/>` +
    `<text x="${x(p.workers).toFixed(1)}" y="${(y(p.rps) - 12).toFixed(1)}" text-anchor="middle">${int(p.rps)}</text>` +
    `<text x="${x(p.workers).toFixed(1)}" y="${bottom + 22}" text-anchor="middle">${p.workers}</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="14" fill="#1b1f24">` +
    '<rect width="100%" height="100%" fill="#fff"/>' +
    '<text x="20" y="24" font-size="16" font-weight="bold">Scaling out: req/s with each worker capped at 0.1 CPU</text>' +
    `<line x1="${left}" y1="${bottom}" x2="${width - 20}" y2="${bottom}" stroke="#9ca3af"/>` +
    `<text x="${(width + left) / 2}" y="${bottom + 48}" text-anchor="middle">workers</text>` +
    `<polyline points="${line}" fill="none" stroke="#1d4ed8" stroke-width="3"/>` + dots.join('') + '</svg>\n'
}
