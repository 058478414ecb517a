// The balance check's command line: its usage text, and the options it takes,
// checked. tools/check.ts is the command around it.
import { parseArgs } from 'node:util'
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

/** Options that cannot be run: the command prints this and its usage, and exits 2. */
export class UsageError extends Error {}

function wholeNumber (name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be a whole number ≥ ${min} (got "${value}")`)
  return parsed
}

/** The options as given, each a string or a flag; a UsageError names an unknown one or a missing value. */
function readArgs (argv: string[]) {
  try {
    return parseArgs({
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
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

type Given = ReturnType<typeof readArgs>

/** --workers is given, --url is an http(s) URL and --served-by one of its forms. */
function checkTarget (values: Given): void {
  if (values.workers === undefined) throw new UsageError('--workers is required')
  if (!URL.canParse(values.url) || !/^https?:$/.test(new URL(values.url).protocol)) throw new UsageError(`--url must be an http(s) URL (got "${values.url}")`)
  try {
    parseServedBy(values['served-by'])
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** --tolerance: a fraction from 0 to 1 (default 0.25). */
function toleranceOf (value: string | undefined): number {
  const tolerance = value === undefined ? 0.25 : Number(value)
  if (!(tolerance >= 0 && tolerance <= 1)) throw new UsageError(`--tolerance must be a fraction from 0 to 1 (got "${value}")`)
  return tolerance
}

/** Disruption mode's own options need --during, and --during a command. */
function checkDisruptionGiven (values: Given): void {
  const disruptionOnly = (['rate', 'before', 'after', 'expect-after', 'join-within', 'max-failed'] as const).filter((name) => values[name] !== undefined)
  if (values.during === undefined && disruptionOnly.length > 0) throw new UsageError(`--${disruptionOnly[0]} needs --during`)
  if (values.during !== undefined && values.during.trim() === '') throw new UsageError('--during needs a command')
}

/** Disruption mode's settings with their defaults, or undefined without --during. */
function disruptionOf (values: Given, workers: number): Disruption | undefined {
  return values.during === undefined
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

/** Options that are each valid but cannot be run together. */
function checkCombination (options: Options): void {
  if (options.during !== undefined && options.during.joinWithinSeconds >= options.during.afterSeconds) {
    throw new UsageError('--join-within must be shorter than --after: the backends after the change are read after it')
  }
  if (options.during === undefined && options.hits < options.workers) throw new UsageError('--hits must be at least --workers')
  if (options.strict && options.concurrency !== 1) throw new UsageError('--strict needs --concurrency 1: concurrent hits may overtake each other')
  if (options.strict && options.during !== undefined) throw new UsageError('--strict cannot be used with --during: a change breaks the rotation by design')
}

/** The command line, checked; a UsageError says what is wrong. */
export function parseCommand (argv: string[]): Command {
  const values = readArgs(argv)
  if (values.help) return { help: true }
  checkTarget(values)
  const tolerance = toleranceOf(values.tolerance)
  if (values.junit === '') throw new UsageError('--junit needs a file name')
  const workers = wholeNumber('workers', values.workers, 0, 1)
  checkDisruptionGiven(values)
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
    during: disruptionOf(values, workers)
  }
  checkCombination(options)
  return { help: false, json: values.json, options }
}
