// The balance check's verdict on a run's answers, with no I/O: the checks of a
// burst of hits (judge) and of disruption mode (judgeDisruption).
import type { HitOutcome } from './hits.js'
import type { Options } from './options.js'
import { makeReport, tally, timeline, type Check, type CommandRun, type CounterMove, type Report, type TimedHit } from './report.js'

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
  return makeReport(options, answers, counter, checks)
}

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
  return makeReport(options, answers, counter, checks, timeline(hits, run))
}
