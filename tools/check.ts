#!/usr/bin/env node
// hitcounter-check: is the load balancer really balancing? Sends hits through it
// and exits non-zero, with a readable table, unless every expected backend
// served, the spread is within tolerance and no hit failed; against hitcounter,
// also unless the counter moved by exactly the hits answered, each number once.
// With --during, a steady rate of hits through a change the command makes.
// The logic is in options.ts, verdict.ts and report.ts; this is the command around it.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { parseCommand, UsageError, USAGE, type Options } from './options.js'
import { judge, judgeDisruption } from './verdict.js'
import { formatReport, junitXml, type CommandRun, type CounterMove, type Report, type TimedHit } from './report.js'
import { counterTotal, hit, Load, type HitOutcome } from './hits.js'
import { parseServedBy, type ServedBy } from './served-by.js'
import { duringBlocker } from './during.js'

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

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Single hits until `workers` different backends answered (a scale-up just done), or the time is up. */
async function settle (options: Options, servedBy: ServedBy): Promise<void> {
  const seen = new Set<string>()
  const deadline = Date.now() + options.settleSeconds * 1000
  while (seen.size < options.workers && Date.now() < deadline) {
    const answer = await hit(options.url, 10000, servedBy)
    if (answer.status === 200) seen.add(answer.hostname)
    else await sleep(100)
  }
}

/** The counter's move over `run`, or why there is none (not hitcounter). */
async function counted<T> (url: string, run: () => Promise<T>): Promise<[T, CounterMove]> {
  const before = await counterTotal(url)
  const result = await run()
  if ('missing' in before) return [result, before]
  const after = await counterTotal(url)
  return [result, 'missing' in after ? after : { counted: after.total - before.total }]
}

/** Runs `command` in a shell: how it ended and what it printed (its output is also passed through to stderr). */
async function runCommand (command: string): Promise<{ exitCode: number, output: string }> {
  return await new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer): void => { output += chunk.toString(); process.stderr.write(chunk) }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('error', (err) => { resolve({ exitCode: 127, output: err.message }) })
    child.on('close', (code) => { resolve({ exitCode: code ?? 1, output }) })
  })
}

/** Disruption mode: hits at a fixed rate (each sent on schedule, answered or not) before, while and after the command. */
async function disrupt (options: Options, servedBy: ServedBy): Promise<[TimedHit[], CommandRun]> {
  const during = options.during!
  const hits: Array<Promise<TimedHit>> = []
  const started = performance.now()
  const sending = { until: Infinity }
  const sender = (async () => {
    for (let n = 0; (n * 1000) / during.rate < sending.until; n++) {
      const at = (n * 1000) / during.rate
      await sleep(at - (performance.now() - started))
      hits.push(hit(options.url, 10000, servedBy).then((answer) => ({ at, answer })))
    }
  })()
  await sleep(during.beforeSeconds * 1000)
  const startedAt = performance.now() - started
  process.stderr.write(`running: ${during.command}\n`)
  const { exitCode, output } = await runCommand(during.command)
  const endedAt = performance.now() - started
  process.stderr.write(`the command ended (exit code ${exitCode}) after ${((endedAt - startedAt) / 1000).toFixed(1)} s; hits for ${during.afterSeconds} s more\n`)
  sending.until = endedAt + during.afterSeconds * 1000
  await sender
  return [await Promise.all(hits), { startedAt, endedAt, exitCode, output }]
}

async function runCheck (options: Options, servedBy: ServedBy, onAnswer?: (answers: HitOutcome[]) => void): Promise<Report> {
  if (options.during !== undefined) {
    const [[hits, run], counter] = await counted(options.url, async () => await disrupt(options, servedBy))
    return judgeDisruption(options, hits, run, counter)
  }
  await settle(options, servedBy)
  const [answers, counter] = await counted(options.url, async () =>
    await new Load(async () => await hit(options.url, 10000, servedBy), options.concurrency, options.hits, onAnswer).finished())
  return judge(options, answers, counter)
}

async function main (): Promise<number> {
  let command
  try {
    command = parseCommand(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`hitcounter-check: ${err.message} (hitcounter-check --help lists the options)\n`)
    return 2
  }
  if (command.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const { options, json } = command
  const blocker = options.during === undefined ? undefined : await duringBlocker(options.during.command)
  if (blocker !== undefined) {
    process.stderr.write(`hitcounter-check: ${blocker}\n`)
    return 2
  }
  const report = await runCheck(options, parseServedBy(options.servedBy), json ? undefined : progress(options.hits))
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`)
  if (options.junit !== undefined) await writeFile(options.junit, junitXml(report))
  return report.ok ? 0 : 1
}

process.exitCode = await main()
