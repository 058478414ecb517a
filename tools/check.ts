#!/usr/bin/env node
// hitcounter-check: is the load balancer really balancing? Sends hits through it
// and exits non-zero, with a readable table, unless every expected worker
// served, the spread is within tolerance, no hit failed, no number was given
// twice, and the counter moved by exactly the number of hits answered.
import { parseArgs } from 'node:util'
import { hit, Load, readStats, type Hit } from './hits.js'

const USAGE = `usage: hitcounter-check --workers N [options]

  --url URL           the load balancer (default http://localhost:8080)
  --workers N         how many workers must serve (required)
  --hits N            hits to send (default 300)
  --concurrency N     clients sending at once (default 8)
  --tolerance F       each worker's share may differ from an even share by this fraction (default 0.25)
  --strict            also require strict rotation: any N consecutive hits reach N workers (needs --concurrency 1)
  --json              print the result as JSON
  --help              this text

Exit code: 0 all checks passed, 1 a check failed or the stack could not be read, 2 bad options.
The counter check assumes no other traffic reaches the stack while it runs.`

interface Check { name: string, ok: boolean, detail: string }

interface Options { url: string, workers: number, hits: number, concurrency: number, tolerance: number, strict: boolean }

interface Report {
  ok: boolean
  options: Options
  answered: number
  failed: number
  perWorker: Record<string, number>
  counted: number
  checks: Check[]
  failures: string[]
}

class UsageError extends Error {}

function integer (name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got "${value}")`)
  return parsed
}

function parseOptions (argv: string[]): Options & { json: boolean, help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://localhost:8080' },
      workers: { type: 'string' },
      hits: { type: 'string' },
      concurrency: { type: 'string' },
      tolerance: { type: 'string' },
      strict: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  if (values.help) return { url: '', workers: 0, hits: 0, concurrency: 0, tolerance: 0, strict: false, json: false, help: true }
  if (values.workers === undefined) throw new UsageError('--workers is required')
  try {
    void new URL(values.url)
  } catch {
    throw new UsageError(`--url must be a URL (got "${values.url}")`)
  }
  const tolerance = values.tolerance === undefined ? 0.25 : Number(values.tolerance)
  if (!(tolerance >= 0 && tolerance <= 1)) throw new UsageError(`--tolerance must be a fraction from 0 to 1 (got "${values.tolerance}")`)
  const options = {
    url: values.url,
    workers: integer('workers', values.workers, 0, 1),
    hits: integer('hits', values.hits, 300, 1),
    concurrency: integer('concurrency', values.concurrency, 8, 1),
    tolerance,
    strict: values.strict,
    json: values.json,
    help: false
  }
  if (options.hits < options.workers) throw new UsageError('--hits must be at least --workers')
  if (options.strict && options.concurrency !== 1) throw new UsageError('--strict needs --concurrency 1: concurrent hits may overtake each other')
  return options
}

/** The checks, from the answers in arrival order and the counter's move. */
function judge (options: Options, answers: Hit[], counted: number): Report {
  const ok = answers.filter((answer) => answer.status === 200)
  const failedAnswers = answers.filter((answer) => answer.status !== 200)
  const perWorker: Record<string, number> = {}
  for (const { hostname } of ok) perWorker[hostname] = (perWorker[hostname] ?? 0) + 1
  const served = Object.keys(perWorker).length
  const even = ok.length / options.workers
  const low = Math.floor(even * (1 - options.tolerance))
  const high = Math.ceil(even * (1 + options.tolerance))
  const shares = Object.values(perWorker)
  const numbers = ok.map((answer) => answer.hits)

  const checks: Check[] = [
    { name: 'every hit answered 200', ok: failedAnswers.length === 0, detail: `${ok.length}/${answers.length}` },
    { name: `exactly ${options.workers} workers served`, ok: served === options.workers, detail: `${served} served` },
    {
      name: `spread within ±${Math.round(options.tolerance * 100)} % of an even share`,
      ok: served === options.workers && shares.every((n) => n >= low && n <= high),
      detail: `${Math.min(...shares, 0)}..${Math.max(...shares, 0)} (allowed ${low}..${high})`
    },
    { name: 'counter moved by exactly the hits answered', ok: counted === ok.length, detail: `+${counted} for ${ok.length} answered` },
    { name: 'no number given twice', ok: new Set(numbers).size === numbers.length, detail: `${new Set(numbers).size} distinct of ${numbers.length}` }
  ]
  if (options.strict) {
    const hosts = ok.map((answer) => answer.hostname)
    const broken = hosts.findIndex((_, i) => i + options.workers <= hosts.length && new Set(hosts.slice(i, i + options.workers)).size !== options.workers)
    checks.push({ name: 'strict rotation', ok: broken === -1, detail: broken === -1 ? `every ${options.workers} in a row distinct` : `hits ${broken + 1}..${broken + options.workers}: ${hosts.slice(broken, broken + options.workers).join(' ')}` })
  }
  const failures = [...new Set(failedAnswers.map((answer) => `${answer.status === 0 ? 'no answer' : answer.status}: ${answer.hostname}`))]
  return { ok: checks.every((check) => check.ok), options, answered: ok.length, failed: failedAnswers.length, perWorker, counted, checks, failures }
}

function formatReport (report: Report): string {
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

/** Progress: one rewritten line on a terminal, a plain line per quarter elsewhere (CI logs). */
function progress (hits: number): (answers: Hit[]) => void {
  const tty = process.stderr.isTTY
  let quarter = 0
  return (answers) => {
    if (tty) {
      process.stderr.write(`\rsent ${answers.length}/${hits}${answers.length === hits ? '\n' : ''}`)
    } else if (answers.length >= ((quarter + 1) * hits) / 4) {
      quarter++
      process.stderr.write(`sent ${answers.length}/${hits}\n`)
    }
  }
}

async function runCheck (options: Options, onAnswer?: (answers: Hit[]) => void): Promise<Report> {
  const before = await readStats(options.url)
  const answers = await new Load(async () => await hit(options.url), options.concurrency, options.hits, onAnswer).finished()
  const after = await readStats(options.url)
  return judge(options, answers, after.total - before.total)
}

async function main (): Promise<number> {
  let options
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError) && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw err
    process.stderr.write(`hitcounter-check: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  let report
  try {
    report = await runCheck(options, options.json ? undefined : progress(options.hits))
  } catch (err) {
    process.stderr.write(`hitcounter-check: cannot read ${new URL('/stats', options.url).href}: ${(err as Error).message}\n`)
    return 1
  }
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`)
  return report.ok ? 0 : 1
}

process.exitCode = await main()
