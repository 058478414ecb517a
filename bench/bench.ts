// npm run bench: what does the load balancer cost, and what did our nginx design
// gain over the original demo's? Brings up the real stack (docker-compose.yml
// plus bench/docker-compose.bench.yml), drives it from the host with wrk at
// 127.0.0.1 only, and writes a Markdown table, a JSON file and an SVG chart to
// bench/results/. All cases run in one go, so their ratios hold on a noisy machine.
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { freePort, waitFor } from '../tests/support/wait.js'
import { readStats } from '../tools/hits.js'
import { Stack } from '../tests/support/stack.js'

const run = promisify(execFile)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const THREADS = 2
const RESULTS = 'bench/results'

interface WrkRun {
  requests: number
  duration_us: number
  connect_errors: number
  read_errors: number
  write_errors: number
  status_errors: number
  timeouts: number
  p50_us: number
  p99_us: number
  max_us: number
}

interface CaseResult {
  name: string
  workers: number
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
  /** Counter move minus answered requests, the most of any run (null: the case counts nothing). */
  extra_counts: number | null
  ratio_to_ceiling: number
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const settle = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 500)) }

async function wrk (url: string, seconds: number): Promise<WrkRun> {
  const { stdout } = await run('wrk', ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '5s', '-s', 'bench/wrk-report.lua', url])
  const line = stdout.split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`wrk printed no report:\n${stdout}`)
  return JSON.parse(line) as WrkRun
}

/** Warm-up, then RUNS measured runs; medians of each figure. `statsUrl` checks the count where the case counts. */
async function measure (name: string, workers: number, url: string, statsUrl: string | null): Promise<Omit<CaseResult, 'ratio_to_ceiling'>> {
  process.stderr.write(`bench: ${name} (${url}) `)
  await wrk(url, WARMUP_S)
  const runs: WrkRun[] = []
  let extra = 0
  for (let i = 0; i < RUNS; i++) {
    // Requests still in flight when wrk stops are counted but not answered (at
    // most CONNECTIONS): let them land before reading the counter.
    await settle()
    const before = statsUrl === null ? 0 : (await readStats(statsUrl)).total
    const result = await wrk(url, DURATION_S)
    await settle()
    if (statsUrl !== null) {
      const counted = (await readStats(statsUrl)).total - before
      extra = Math.max(extra, counted - (result.requests - result.status_errors))
    }
    runs.push(result)
    process.stderr.write('.')
  }
  const rps = median(runs.map((r) => r.requests / (r.duration_us / 1e6)))
  process.stderr.write(` ${Math.round(rps)} req/s\n`)
  return {
    name,
    workers,
    rps,
    p50_ms: median(runs.map((r) => r.p50_us / 1000)),
    p99_ms: median(runs.map((r) => r.p99_us / 1000)),
    errors: runs.reduce((sum, r) => sum + r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts, 0),
    extra_counts: statsUrl === null ? null : extra
  }
}

function markdown (results: CaseResult[], meta: string): string {
  const rows = results.map((r) => `| ${r.name} | ${r.workers || '–'} | ${Math.round(r.rps).toLocaleString('en')} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.errors} | ${r.extra_counts ?? '–'} | ${(r.ratio_to_ceiling * 100).toFixed(1)} % |`)
  return [
    '| case | workers | req/s | p50 ms | p99 ms | errors | counted − answered | of nginx ceiling |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    meta
  ].join('\n') + '\n'
}

function svg (results: CaseResult[]): string {
  const barHeight = 28
  const gap = 10
  const left = 300
  const width = 900
  const most = Math.max(...results.map((r) => r.rps))
  const bars = results.map((r, i) => {
    const y = 40 + i * (barHeight + gap)
    const w = Math.max(2, ((width - left - 160) * r.rps) / most)
    return `<text x="${left - 10}" y="${y + 19}" text-anchor="end">${r.name}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="#1f6f8b"/>` +
      `<text x="${left + w + 8}" y="${y + 19}">${Math.round(r.rps).toLocaleString('en')} req/s · p99 ${r.p99_ms.toFixed(1)} ms</text>`
  })
  const height = 60 + results.length * (barHeight + gap)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="14" fill="#1b1f24">` +
    '<rect width="100%" height="100%" fill="#fff"/>' +
    `<text x="20" y="24" font-size="16" font-weight="bold">hitcounter: requests per second, ${CONNECTIONS} connections (higher is better)</text>` +
    bars.join('') + '</svg>\n'
}

async function main (): Promise<void> {
  await run('wrk', ['--version']).catch((err: { code?: string }) => {
    if (err.code === 'ENOENT') throw new Error('wrk is not installed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)')
  })
  const env = { BENCH_WORKER_PORT: String(await freePort()), BENCH_ORIGINAL_PORT: String(await freePort()) }
  process.stderr.write('bench: bringing up the stack\n')
  const stack = await Stack.up(1, { project: `hitcounter-bench-${process.pid}`, files: ['bench/docker-compose.bench.yml'], env })
  const direct = `http://127.0.0.1:${env.BENCH_WORKER_PORT}`
  const original = `http://127.0.0.1:${env.BENCH_ORIGINAL_PORT}`
  try {
    await waitFor('the direct worker and the original nginx', async () =>
      (await fetch(`${direct}/readyz`).then((r) => r.ok, () => false)) && (await fetch(original).then((r) => r.ok, () => false)), 60000, 200)
    const measured = [
      await measure('nginx ceiling (no proxying)', 0, `${stack.url}/nginx-health`, null),
      await measure('one worker, no load balancer', 1, `${direct}/`, direct),
      await measure('full path, 1 worker', 1, `${stack.url}/`, stack.url)
    ]
    await stack.scaleTo(2)
    measured.push(await measure('full path, 2 workers', 2, `${stack.url}/`, stack.url))
    measured.push(await measure('original demo nginx, 2 workers', 2, `${original}/`, stack.url))
    await stack.scaleTo(3)
    measured.push(await measure('full path, 3 workers', 3, `${stack.url}/`, stack.url))

    const ceiling = measured[0]!.rps
    const results = measured.map((r) => ({ ...r, ratio_to_ceiling: r.rps / ceiling }))
    const two = results.find((r) => r.name === 'full path, 2 workers')!
    const orig = results.find((r) => r.name.startsWith('original'))!
    const meta = [
      `${new Date().toISOString()}, ${RUNS} runs of ${DURATION_S} s after ${WARMUP_S} s of warm-up, medians; wrk -t${THREADS} -c${CONNECTIONS} on 127.0.0.1, through Docker's published ports.`,
      `Full path with 2 workers: ${(two.rps / ceiling * 100).toFixed(1)} % of the nginx ceiling, ${(two.rps / orig.rps).toFixed(1)}× the original demo's design, p99 ${two.p99_ms.toFixed(1)} ms.`
    ].join('\n')
    await mkdir(RESULTS, { recursive: true })
    await writeFile(`${RESULTS}/latest.md`, markdown(results, meta))
    await writeFile(`${RESULTS}/latest.json`, JSON.stringify({ date: new Date().toISOString(), connections: CONNECTIONS, runs: RUNS, duration_s: DURATION_S, results }, null, 2) + '\n')
    await writeFile(`${RESULTS}/latest.svg`, svg(results))
    process.stdout.write(markdown(results, meta))
    process.stderr.write(`bench: wrote ${RESULTS}/latest.md, latest.json, latest.svg\n`)
  } finally {
    await stack.down()
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`)
  process.exitCode = 1
})
