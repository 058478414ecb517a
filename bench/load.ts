// The loads the benchmark sends, with wrk: a closed loop (each connection
// sends its next request when the last is answered) or an open loop at a fixed
// rate (bench/wrk-open-loop.lua: requests go out on a schedule, with
// connections to spare). Either runs on the host or inside a container's
// network namespace.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const THREADS = 2

export interface WrkRun {
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

/** A load to send: a URL, reached from the host, or from inside a container's network namespace. */
export interface Target {
  url: string
  /** A process of the container whose network namespace the load runs in (so 127.0.0.1 is that container's own). */
  insidePid?: string
}

const inside = (target: Target, file: string, args: string[]): [string, string[]] =>
  target.insidePid === undefined ? [file, args] : ['nsenter', ['-n', '-t', target.insidePid, file, ...args]]

export const wrkErrors = (r: WrkRun): number => r.connect_errors + r.read_errors + r.write_errors + r.status_errors + r.timeouts

/** A closed loop of `connections` for `seconds`; with `rate`, an open loop at that many requests a second. */
export async function wrk (target: Target, seconds: number, connections: number, rate?: number): Promise<WrkRun> {
  const script = rate === undefined ? ['bench/wrk-report.lua', target.url] : ['bench/wrk-open-loop.lua', target.url, '--', String(rate), String(THREADS)]
  const args = ['-t', String(THREADS), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', ...script]
  const { stdout } = await run(...inside(target, 'wrk', args), { maxBuffer: 1 << 20 })
  const line = stdout.split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`wrk printed no report:\n${stdout}`)
  return JSON.parse(line) as WrkRun
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
