// The balance check's logic, with no I/O: its options, its verdict on a run's
// answers, and the report it prints. tools/check.ts is the command around it.
import { parseArgs } from 'node:util'
import type { HitOutcome } from './hits.js'

export const USAGE = `usage: hitcounter-check --workers N [options]

  --url URL           the load balancer (default http://localhost:8080)
  --workers N         how many workers must serve (required)
  --hits N            hits to send (default 300)
  --concurrency N     clients sending at once (default 8)
  --tolerance F       each worker's share may differ from an even share by this fraction (default 0.25)
  --strict            also require strict rotation: any N consecutive hits reach N workers (needs --concurrency 1)
  --settle S          first wait up to S seconds, sending single hits, until N workers answer (default 0)
  --json              print the result as JSON
  --help              this text

Exit code: 0 all checks passed, 1 a check failed or the stack could not be read, 2 bad options.
The counter check assumes no other traffic reaches the stack while it runs.`

export interface Options {
  url: string
  workers: number
  hits: number
  concurrency: number
  tolerance: number
  strict: boolean
  settleSeconds: number
}

export type Command = { help: true } | { help: false, json: boolean, options: Options }

export interface Check { name: string, ok: boolean, detail: string }

export interface Report {
  ok: boolean
  options: Options
  answered: number
  failed: number
  perWorker: Record<string, number>
  counted: number
  checks: Check[]
  failures: string[]
}

/** Options that cannot be run: the command prints this and its usage, and exits 2. */
export class UsageError extends Error {}

function wholeNumber (name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got "${value}")`)
  return parsed
}

/** The command line, checked; a UsageError says what is wrong. */
export function parseCommand (argv: string[]): Command {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'http://localhost:8080' },
        workers: { type: 'string' },
        hits: { type: 'string' },
        concurrency: { type: 'string' },
        tolerance: { type: 'string' },
        settle: { type: 'string' },
        strict: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return { help: true }
  if (values.workers === undefined) throw new UsageError('--workers is required')
  if (!URL.canParse(values.url)) throw new UsageError(`--url must be a URL (got "${values.url}")`)
  const tolerance = values.tolerance === undefined ? 0.25 : Number(values.tolerance)
  if (!(tolerance >= 0 && tolerance <= 1)) throw new UsageError(`--tolerance must be a fraction from 0 to 1 (got "${values.tolerance}")`)
  const options: Options = {
    url: values.url,
    workers: wholeNumber('workers', values.workers, 0, 1),
    hits: wholeNumber('hits', values.hits, 300, 1),
    concurrency: wholeNumber('concurrency', values.concurrency, 8, 1),
    tolerance,
    strict: values.strict,
    settleSeconds: wholeNumber('settle', values.settle, 0, 0)
  }
  if (options.hits < options.workers) throw new UsageError('--hits must be at least --workers')
  if (options.strict && options.concurrency !== 1) throw new UsageError('--strict needs --concurrency 1: concurrent hits may overtake each other')
  return { help: false, json: values.json, options }
}

/** The first window of `size` consecutive hosts that are not all different, or -1. */
export function firstRepeat (hosts: string[], size: number): number {
  return hosts.findIndex((_, i) => i + size <= hosts.length && new Set(hosts.slice(i, i + size)).size !== size)
}

/** The counter's move, and what a mismatch most likely means. */
function counterDetail (counted: number, answered: number): string {
  const detail = `+${counted} for ${answered} answered`
  if (counted > answered) return `${detail}: ${counted - answered} more were counted than this check sent, so another client (a browser's Keep hitting, a curl loop) was hitting the stack; run the check on a quiet stack`
  if (counted < answered) return `${detail}: ${answered - counted} answered hits are missing from the counter`
  return detail
}

/** The verdict, from the answers in arrival order and the counter's move over the run. */
export function judge (options: Options, answers: HitOutcome[], counted: number): Report {
  const ok = answers.filter((answer) => answer.status === 200)
  const failedAnswers = answers.filter((answer) => answer.status !== 200)
  const perWorker: Record<string, number> = {}
  for (const { hostname } of ok) perWorker[hostname] = (perWorker[hostname] ?? 0) + 1
  const served = Object.keys(perWorker).length
  const even = ok.length / options.workers
  const low = Math.floor(even * (1 - options.tolerance))
  const high = Math.ceil(even * (1 + options.tolerance))
  const shares = Object.values(perWorker)
  const spread = shares.length === 0 ? 'no worker served' : `${Math.min(...shares)}..${Math.max(...shares)}`
  const numbers = ok.map((answer) => answer.hits)

  const checks: Check[] = [
    { name: 'every hit answered 200', ok: failedAnswers.length === 0, detail: `${ok.length}/${answers.length}` },
    { name: `exactly ${options.workers} workers served`, ok: served === options.workers, detail: `${served} served` },
    {
      name: `spread within ±${Math.round(options.tolerance * 100)} % of an even share`,
      ok: served === options.workers && shares.every((n) => n >= low && n <= high),
      detail: `${spread} (allowed ${low}..${high})`
    },
    { name: 'counter moved by exactly the hits answered', ok: counted === ok.length, detail: counterDetail(counted, ok.length) },
    { name: 'no number given twice', ok: new Set(numbers).size === numbers.length, detail: `${new Set(numbers).size} distinct of ${numbers.length}` }
  ]
  if (options.strict) {
    const hosts = ok.map((answer) => answer.hostname)
    const broken = firstRepeat(hosts, options.workers)
    checks.push({
      name: 'strict rotation',
      ok: broken === -1,
      detail: broken === -1 ? `every ${options.workers} in a row distinct` : `hits ${broken + 1}..${broken + options.workers}: ${hosts.slice(broken, broken + options.workers).join(' ')}`
    })
  }
  const failures = [...new Set(failedAnswers.map((answer) =>
    `${answer.status === 0 ? 'no answer' : answer.status} from ${answer.hostname === '' ? 'nginx' : answer.hostname}: ${answer.reason}`))]
  return { ok: checks.every((check) => check.ok), options, answered: ok.length, failed: failedAnswers.length, perWorker, counted, checks, failures }
}

/** The report as a table with a bar per worker, then one PASS/FAIL line per check. */
export function formatReport (report: Report): string {
  const lines: string[] = []
  const total = Math.max(1, report.answered)
  const width = Math.max(8, ...Object.keys(report.perWorker).map((name) => name.length))
  lines.push(`${'worker'.padEnd(width)}  ${'hits'.padStart(6)}  share`)
  for (const [name, n] of Object.entries(report.perWorker).sort(([a], [b]) => a.localeCompare(b))) {
    const share = n / total
    lines.push(`${name.padEnd(width)}  ${String(n).padStart(6)}  ${(share * 100).toFixed(1).padStart(5)} %  ${'#'.repeat(Math.round(share * 40))}`)
  }
  lines.push('')
  for (const check of report.checks) lines.push(`${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`)
  for (const failure of report.failures.slice(0, 5)) lines.push(`      failed hit, ${failure}`)
  lines.push('', report.ok ? 'balance check passed' : 'balance check FAILED')
  return lines.join('\n')
}
