#!/usr/bin/env node
// hitcounter-check: is the load balancer really balancing? Sends hits through it
// and exits non-zero, with a readable table, unless every expected worker
// served, the spread is within tolerance, no hit failed, no number was given
// twice, and the counter moved by exactly the number of hits answered.
// The logic is in balance.ts; this is the command around it.
import { formatReport, judge, parseCommand, UsageError, USAGE, type Options, type Report } from './balance.js'
import { hit, Load, readStats, type HitOutcome } from './hits.js'

/** Progress: one rewritten line on a terminal, a plain line per quarter elsewhere (CI logs). */
function progress (hits: number): (answers: HitOutcome[]) => void {
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

/** Single hits until `workers` different hosts answered (a scale-up just done), or the time is up. */
async function settle (options: Options): Promise<void> {
  const seen = new Set<string>()
  const deadline = Date.now() + options.settleSeconds * 1000
  while (seen.size < options.workers && Date.now() < deadline) {
    const answer = await hit(options.url)
    if (answer.status === 200) seen.add(answer.hostname)
    else await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function runCheck (options: Options, onAnswer?: (answers: HitOutcome[]) => void): Promise<Report> {
  await settle(options)
  const before = await readStats(options.url)
  const answers = await new Load(async () => await hit(options.url), options.concurrency, options.hits, onAnswer).finished()
  const after = await readStats(options.url)
  return judge(options, answers, after.total - before.total)
}

async function main (): Promise<number> {
  let command
  try {
    command = parseCommand(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`hitcounter-check: ${err.message}\n${USAGE}\n`)
    return 2
  }
  if (command.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const { options, json } = command
  let report
  try {
    report = await runCheck(options, json ? undefined : progress(options.hits))
  } catch (err) {
    process.stderr.write(`hitcounter-check: cannot read ${new URL('/stats', options.url).href}: ${(err as Error).message}\n`)
    return 1
  }
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`)
  return report.ok ? 0 : 1
}

process.exitCode = await main()
