// The balance check's report: what it holds (the answers tallied, the checks'
// verdicts), and how it is printed: a table, a timeline of disruption mode, and
// JUnit XML. The checks themselves are in verdict.ts.
import type { HitOutcome } from './hits.js'
import type { Options } from './options.js'

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

/** A hit of disruption mode: sent `at` ms after the first. */
export interface TimedHit { at: number, answer: HitOutcome }

/** When the command ran, in ms after the first hit, and how it ended. */
export interface CommandRun { startedAt: number, endedAt: number, exitCode: number, output: string }

/** Hits answered per backend, and the failed hits' kinds ("502 from nginx: …"), each once. */
export function tally (answers: HitOutcome[]): { ok: HitOutcome[], failed: HitOutcome[], perWorker: Record<string, number>, failures: string[] } {
  const ok = answers.filter((answer) => answer.status === 200)
  const failed = answers.filter((answer) => answer.status !== 200)
  const perWorker: Record<string, number> = {}
  for (const { hostname } of ok) perWorker[hostname] = (perWorker[hostname] ?? 0) + 1
  const failures = [...new Set(failed.map(failureKind))]
  return { ok, failed, perWorker, failures }
}

const failureKind = (answer: HitOutcome): string =>
  `${answer.status === 0 ? 'no answer' : answer.status} from ${answer.hostname === '' ? 'the load balancer' : answer.hostname}: ${answer.reason}`

/** The report of a run: its answers tallied, beside the checks' verdicts. */
export function makeReport (options: Options, answers: HitOutcome[], counter: CounterMove, checks: Check[], timeline: string[] = []): Report {
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
