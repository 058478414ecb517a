// The balance check's logic, with no I/O: its options, its verdict on a run's
// answers, and the report it prints. tools/check.ts is the command around it.
import { parseArgs } from 'node:util'
import type { HitOutcome } from './hits.js'
import { DEFAULT_SERVED_BY, parseServedBy } from './served-by.js'

export const USAGE = `usage: hitcounter-check --workers N [options]

  --url URL              the load balancer (default http://localhost:8080); hits go to this URL as given
  --workers N            how many backends must serve (required; with --during, how many there are after it)
  --served-by HOW        how an answer names its backend: header:NAME (default header:X-Served-By),
                         json:FIELD (a field of a JSON body, dots for a nested one) or regex:RE (its first group)
  --hits N               hits to send (default 300)
  --concurrency N        clients sending at once (default 8)
  --tolerance F          each backend's share may differ from an even share by this fraction (default 0.25)
  --strict               also require strict rotation: any N consecutive hits reach N backends (needs --concurrency 1)
  --settle S             first wait up to S seconds, sending single hits, until N backends answer (default 0)
  --during "COMMAND"     disruption mode: hits at a steady rate before, while and after COMMAND runs (a shell command)
  --rate N               with --during: hits a second (default 50)
  --before S             with --during: seconds of hits before the command (default 3)
  --after S              with --during: seconds of hits after it (default 10)
  --expect-after N       with --during: backends that must serve after it (default --workers)
  --join-within S        with --during: a backend new after it must serve within S seconds of its end (default 5)
  --max-failed N         with --during: hits that may fail (default 0)
  --json                 print the result as JSON
  --junit FILE           also write the result as JUnit XML to FILE, a test case per check
  --help                 this text

Exit code: 0 all checks passed, 1 a check failed or the stack could not be read, 2 bad options.
Against hitcounter (its /stats answers), the counter is checked too: it must move by exactly the hits answered,
so no other traffic may reach the stack while the check runs. Against another service those checks are skipped.`

/** Disruption mode: a steady rate of hits before, while and after a command that changes the stack. */
export interface Disruption {
  command: string
  rate: number
  beforeSeconds: number
  afterSeconds: number
  expectAfter: number
  joinWithinSeconds: number
  maxFailed: number
}

export interface Options {
  url: string
  workers: number
  hits: number
  concurrency: number
  tolerance: number
  strict: boolean
  settleSeconds: number
  /** As given: header:NAME, json:FIELD or regex:RE (served-by.ts). */
  servedBy: string
  junit: string | undefined
  during: Disruption | undefined
}

export type Command = { help: true } | { help: false, json: boolean, options: Options }

/** One check's verdict; a skipped one (it needs hitcounter's counter, which another service has not) never fails. */
export interface Check { name: string, ok: boolean, skipped: boolean, detail: string }

export interface Report {
  ok: boolean
  options: Options
  answered: number
  failed: number
  perWorker: Record<string, number>
  /** The counter's move over the run, or null where there is no hitcounter counter. */
  counted: number | null
  checks: Check[]
  failures: string[]
  /** Disruption mode: one line per second, who served and what failed. */
  timeline: string[]
}

/** hitcounter's counter over a run: its move, or why there is none to read. */
export type CounterMove = { counted: number } | { missing: string }

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
        'served-by': { type: 'string', default: DEFAULT_SERVED_BY },
        hits: { type: 'string' },
        concurrency: { type: 'string' },
        tolerance: { type: 'string' },
        settle: { type: 'string' },
        strict: { type: 'boolean', default: false },
        during: { type: 'string' },
        rate: { type: 'string' },
        before: { type: 'string' },
        after: { type: 'string' },
        'expect-after': { type: 'string' },
        'join-within': { type: 'string' },
        'max-failed': { type: 'string' },
        json: { type: 'boolean', default: false },
        junit: { type: 'string' },
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
  if (!URL.canParse(values.url) || !/^https?:$/.test(new URL(values.url).protocol)) throw new UsageError(`--url must be an http(s) URL (got "${values.url}")`)
  try {
    parseServedBy(values['served-by'])
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const tolerance = values.tolerance === undefined ? 0.25 : Number(values.tolerance)
  if (!(tolerance >= 0 && tolerance <= 1)) throw new UsageError(`--tolerance must be a fraction from 0 to 1 (got "${values.tolerance}")`)
  if (values.junit === '') throw new UsageError('--junit needs a file name')
  const workers = wholeNumber('workers', values.workers, 0, 1)
  const disruptionOnly = (['rate', 'before', 'after', 'expect-after', 'join-within', 'max-failed'] as const).filter((name) => values[name] !== undefined)
  if (values.during === undefined && disruptionOnly.length > 0) throw new UsageError(`--${disruptionOnly[0]} needs --during`)
  if (values.during !== undefined && values.during.trim() === '') throw new UsageError('--during needs a command')
  const options: Options = {
    url: values.url,
    workers,
    hits: wholeNumber('hits', values.hits, 300, 1),
    concurrency: wholeNumber('concurrency', values.concurrency, 8, 1),
    tolerance,
    strict: values.strict,
    settleSeconds: wholeNumber('settle', values.settle, 0, 0),
    servedBy: values['served-by'],
    junit: values.junit,
    during: values.during === undefined
      ? undefined
      : {
          command: values.during,
          rate: wholeNumber('rate', values.rate, 50, 1),
          beforeSeconds: wholeNumber('before', values.before, 3, 1),
          afterSeconds: wholeNumber('after', values.after, 10, 1),
          expectAfter: wholeNumber('expect-after', values['expect-after'], workers, 1),
          joinWithinSeconds: wholeNumber('join-within', values['join-within'], 5, 0),
          maxFailed: wholeNumber('max-failed', values['max-failed'], 0, 0)
        }
  }
  if (options.during !== undefined && options.during.joinWithinSeconds >= options.during.afterSeconds) {
    throw new UsageError('--join-within must be shorter than --after: the backends after the change are read after it')
  }
  if (options.during === undefined && options.hits < options.workers) throw new UsageError('--hits must be at least --workers')
  if (options.strict && options.concurrency !== 1) throw new UsageError('--strict needs --concurrency 1: concurrent hits may overtake each other')
  if (options.strict && options.during !== undefined) throw new UsageError('--strict cannot be used with --during: a change breaks the rotation by design')
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

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, skipped: false, detail })

/** hitcounter's two checks of its counter; skipped, with why, against another service. */
function counterChecks (ok: HitOutcome[], counter: CounterMove): Check[] {
  const names = ['counter moved by exactly the hits answered', 'no number given twice']
  if ('missing' in counter) return names.map((name) => ({ name, ok: true, skipped: true, detail: `skipped: ${counter.missing} (not hitcounter)` }))
  const numbers = ok.map((answer) => answer.hits)
  return [
    check(names[0]!, counter.counted === ok.length, counterDetail(counter.counted, ok.length)),
    check(names[1]!, new Set(numbers).size === numbers.length, `${new Set(numbers).size} distinct of ${numbers.length}`)
  ]
}

/** Hits answered per backend, and the failed hits' kinds ("502 from nginx: …"), each once. */
function tally (answers: HitOutcome[]): { ok: HitOutcome[], failed: HitOutcome[], perWorker: Record<string, number>, failures: string[] } {
  const ok = answers.filter((answer) => answer.status === 200)
  const failed = answers.filter((answer) => answer.status !== 200)
  const perWorker: Record<string, number> = {}
  for (const { hostname } of ok) perWorker[hostname] = (perWorker[hostname] ?? 0) + 1
  const failures = [...new Set(failed.map(failureKind))]
  return { ok, failed, perWorker, failures }
}

const failureKind = (answer: HitOutcome): string =>
  `${answer.status === 0 ? 'no answer' : answer.status} from ${answer.hostname === '' ? 'the load balancer' : answer.hostname}: ${answer.reason}`

function report (options: Options, answers: HitOutcome[], counter: CounterMove, checks: Check[], timeline: string[] = []): Report {
  const { ok, failed, perWorker, failures } = tally(answers)
  return {
    ok: checks.every((c) => c.ok),
    options,
    answered: ok.length,
    failed: failed.length,
    perWorker,
    counted: 'counted' in counter ? counter.counted : null,
    checks,
    failures,
    timeline
  }
}

/** The verdict, from the answers in arrival order and the counter over the run. */
export function judge (options: Options, answers: HitOutcome[], counter: CounterMove): Report {
  const { ok, failed, perWorker } = tally(answers)
  const served = Object.keys(perWorker).length
  const even = ok.length / options.workers
  const low = Math.floor(even * (1 - options.tolerance))
  const high = Math.ceil(even * (1 + options.tolerance))
  const shares = Object.values(perWorker)
  const spread = shares.length === 0 ? 'no worker served' : `${Math.min(...shares)}..${Math.max(...shares)}`
  const checks: Check[] = [
    check('every hit answered 200', failed.length === 0, `${ok.length}/${answers.length}`),
    check(`exactly ${options.workers} workers served`, served === options.workers, `${served} served`),
    check(`spread within ±${Math.round(options.tolerance * 100)} % of an even share`, served === options.workers && shares.every((n) => n >= low && n <= high),
      `${spread} (allowed ${low}..${high})`),
    ...counterChecks(ok, counter)
  ]
  if (options.strict) {
    const hosts = ok.map((answer) => answer.hostname)
    const broken = firstRepeat(hosts, options.workers)
    checks.push(check('strict rotation', broken === -1,
      broken === -1 ? `every ${options.workers} in a row distinct` : `hits ${broken + 1}..${broken + options.workers}: ${hosts.slice(broken, broken + options.workers).join(' ')}`))
  }
  return report(options, answers, counter, checks)
}

/** A hit of disruption mode: sent `at` ms after the first. */
export interface TimedHit { at: number, answer: HitOutcome }

/** When the command ran, in ms after the first hit, and how it ended. */
export interface CommandRun { startedAt: number, endedAt: number, exitCode: number, output: string }

/** Backend → [first, last] time it served (ms), over the hits given. */
function servedSpans (hits: TimedHit[]): Map<string, [number, number]> {
  const spans = new Map<string, [number, number]>()
  for (const { at, answer } of hits) {
    if (answer.status !== 200 || answer.hostname === '') continue
    const span = spans.get(answer.hostname)
    if (span === undefined) spans.set(answer.hostname, [at, at])
    else span[1] = at
  }
  return spans
}

const names = (list: Iterable<string>): string => [...list].sort().join(' ') || 'none'
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** One line a second: the backends that served (hits each), and what failed. */
export function timeline (hits: TimedHit[], run: CommandRun): string[] {
  const lines: string[] = []
  const last = hits.reduce((end, hit) => Math.max(end, hit.at), 0)
  for (let second = 0; second * 1000 <= last; second++) {
    const inSecond = hits.filter((hit) => hit.at >= second * 1000 && hit.at < (second + 1) * 1000).map((hit) => hit.answer)
    const { perWorker, failed } = tally(inSecond)
    const phase = (second + 1) * 1000 <= run.startedAt ? 'before' : second * 1000 < run.endedAt ? 'during' : 'after '
    const served = Object.entries(perWorker).sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name}×${n}`).join(' ') || 'none'
    const failures = failed.length === 0 ? '' : `; ${failed.length} failed (${[...new Set(failed.map((answer) => answer.status === 0 ? 'no answer' : String(answer.status)))].join(', ')})`
    lines.push(`${String(second).padStart(3)} s ${phase}  ${served}${failures}`)
  }
  return lines
}

/**
 * The verdict of disruption mode: no hit failed (up to --max-failed); after the
 * change, exactly the backends there are serve; each backend new after it
 * served within --join-within of its end; none that left served after it ended.
 */
export function judgeDisruption (options: Options, hits: TimedHit[], run: CommandRun, counter: CounterMove): Report {
  const during = options.during!
  const answers = hits.map((hit) => hit.answer)
  const { ok, failed } = tally(answers)
  const before = servedSpans(hits.filter((hit) => hit.at < run.startedAt))
  const settledAt = run.endedAt + during.joinWithinSeconds * 1000
  const settled = servedSpans(hits.filter((hit) => hit.at >= settledAt))
  const all = servedSpans(hits)
  const joined = [...all].filter(([name]) => !before.has(name))
  const late = joined.filter(([, [first]]) => first > settledAt)
  const left = [...before.keys()].filter((name) => !settled.has(name))
  const stale = left.filter((name) => all.get(name)![1] > run.endedAt)
  const failedAfter = hits.filter((hit) => hit.at >= run.endedAt && hit.answer.status !== 200).length
  const checks: Check[] = [
    check('the command succeeded', run.exitCode === 0,
      `exit code ${run.exitCode} after ${seconds(run.endedAt - run.startedAt)}${run.exitCode === 0 ? '' : `: ${run.output.trim().split('\n').slice(-3).join(' | ')}`}`),
    check(`at most ${during.maxFailed} hits failed`, failed.length <= during.maxFailed,
      `${failed.length} of ${answers.length} failed, ${failedAfter} of them after the command`),
    check(`exactly ${during.expectAfter} backends served after the change`, settled.size === during.expectAfter,
      `${settled.size} served from ${seconds(settledAt)} on: ${names(settled.keys())}`),
    check(`every new backend served within ${during.joinWithinSeconds} s of the change`, late.length === 0,
      joined.length === 0
        ? 'no new backend served'
        : `${joined.map(([name, [first]]) => `${name} from ${seconds(first)}`).join(', ')}${late.length === 0 ? '' : `; too late: ${names(late.map(([name]) => name))}`}`),
    check('no backend that left served after the change', stale.length === 0,
      left.length === 0 ? 'none left' : `left: ${names(left)}${stale.length === 0 ? '' : `; served after the change: ${names(stale)}`}`),
    ...counterChecks(ok, counter)
  ]
  return report(options, answers, counter, checks, timeline(hits, run))
}

/** The report as a table with a bar per backend, the timeline where there is one, then one PASS/FAIL/SKIP line per check. */
export function formatReport (report: Report): string {
  const lines: string[] = []
  const total = Math.max(1, report.answered)
  const width = Math.max(8, ...Object.keys(report.perWorker).map((name) => name.length))
  lines.push(`${'backend'.padEnd(width)}  ${'hits'.padStart(6)}  share`)
  for (const [name, n] of Object.entries(report.perWorker).sort(([a], [b]) => a.localeCompare(b))) {
    const share = n / total
    lines.push(`${name.padEnd(width)}  ${String(n).padStart(6)}  ${(share * 100).toFixed(1).padStart(5)} %  ${'#'.repeat(Math.round(share * 40))}`)
  }
  if (report.timeline.length > 0) lines.push('', ...report.timeline)
  lines.push('')
  for (const c of report.checks) lines.push(`${c.skipped ? 'SKIP' : c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`)
  for (const failure of report.failures.slice(0, 5)) lines.push(`      failed hit, ${failure}`)
  lines.push('', report.ok ? 'balance check passed' : 'balance check FAILED')
  return lines.join('\n')
}

const xml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The report as JUnit XML: one test case per check, a skipped one as skipped, a failed one with its detail. */
export function junitXml (report: Report): string {
  const failures = report.checks.filter((c) => !c.ok).length
  const skipped = report.checks.filter((c) => c.skipped).length
  const cases = report.checks.map((c) => {
    const open = `    <testcase classname="hitcounter-check" name="${xml(c.name)}">`
    if (c.skipped) return `${open}<skipped message="${xml(c.detail)}"/></testcase>`
    if (!c.ok) return `${open}<failure message="${xml(c.detail)}">${xml([c.detail, ...report.failures.slice(0, 5)].join('\n'))}</failure></testcase>`
    return `${open}<system-out>${xml(c.detail)}</system-out></testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hitcounter-check" tests="${report.checks.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="balance of ${xml(report.options.url)}" tests="${report.checks.length}" failures="${failures}" skipped="${skipped}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    ''
  ].join('\n')
}
