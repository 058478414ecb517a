import { describe, expect, it } from 'vitest'
import { parseCommand, UsageError, type Options } from '../../tools/options.js'
import { firstRepeat, judge, judgeDisruption } from '../../tools/verdict.js'
import { formatReport, junitXml, timeline, type CommandRun, type TimedHit } from '../../tools/report.js'
import { backendOf, parseServedBy } from '../../tools/served-by.js'
import type { HitOutcome } from '../../tools/hits.js'

// The balance check's verdict as plain logic: no Docker, no network.
const options = (overrides: Partial<Options> = {}): Options => ({
  url: 'http://localhost:8080',
  workers: 3,
  hits: 6,
  concurrency: 1,
  tolerance: 0.25,
  strict: false,
  settleSeconds: 0,
  servedBy: 'header:X-Served-By',
  junit: undefined,
  during: undefined,
  ...overrides
})
let next = 0
const served = (hostname: string): HitOutcome => ({ status: 200, hostname, hits: ++next, ms: 1, reason: '' })
const failed = (status: number, reason: string): HitOutcome => ({ status, hostname: '', hits: NaN, ms: 1, reason })
const hosts = (names: string): HitOutcome[] => names.split(' ').map(served)

describe('judge: one line per check', () => {
  it.each([
    ['an even rotation', options(), hosts('a b c a b c'), 6, [], '2..2 (allowed 1..3)'],
    ['one worker missing', options(), hosts('a b a b a b'), 6, ['exactly 3 workers served', 'spread within ±25 % of an even share'], '3..3 (allowed 1..3)'],
    ['a lopsided spread', options({ hits: 12 }), hosts('a a a a a a a a b c b c'), 12, ['spread within ±25 % of an even share'], '2..8 (allowed 3..5)'],
    ['another client hitting', options(), hosts('a b c a b c'), 7, ['counter moved by exactly the hits answered'], '+7 for 6 answered: 1 more were counted than this check sent, so another client'],
    ['a lost count', options(), hosts('a b c a b c'), 5, ['counter moved by exactly the hits answered'], '+5 for 6 answered: 1 answered hits are missing from the counter'],
    ['a failed hit', options(), [...hosts('a b c a b'), failed(503, 'no worker can take this hit')], 5, ['every hit answered 200'], '5/6'],
    ['nothing served', options(), [failed(0, 'ECONNREFUSED')], 0, ['every hit answered 200', 'exactly 3 workers served', 'spread within ±25 % of an even share'], 'no worker served (allowed 0..0)'],
    ['strict rotation broken', options({ strict: true }), hosts('a b c a a b'), 6, ['strict rotation'], 'hits 3..5: c a a']
  ])('%s', (_case, opts, answers, counted, failing, detail) => {
    const report = judge(opts, answers, { counted })
    expect(report.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(failing)
    expect(report.ok).toBe(failing.length === 0)
    expect(report.checks.map((check) => check.detail).join(' | ')).toContain(detail)
  })

  it('the spread names the real minimum and maximum (no stray 0)', () => {
    const report = judge(options({ hits: 300 }), [...Array(100)].flatMap(() => hosts('a b c')), { counted: 300 })
    expect(report.checks[2]!.detail).toBe('100..100 (allowed 75..125)')
  })

  it('a number given twice fails', () => {
    const answers = hosts('a b c')
    answers[2]!.hits = answers[0]!.hits
    expect(judge(options({ hits: 3 }), answers, { counted: 3 }).checks.find((check) => !check.ok)?.name).toBe('no number given twice')
  })
})

describe('firstRepeat', () => {
  it.each([
    [['a', 'b', 'c', 'a', 'b', 'c'], 3, -1],
    [['a', 'b', 'b'], 2, 1],
    [['a', 'a'], 2, 0],
    [['a'], 2, -1]
  ])('%j in windows of %i: %i', (sequence, size, expected) => {
    expect(firstRepeat(sequence, size)).toBe(expected)
  })
})

describe('parseCommand', () => {
  it.each([
    [[], '--workers is required'],
    [['--workers', '0'], '--workers must be a whole number ≥ 1 (got "0")'],
    [['--workers', '3', '--hits', '2'], '--hits must be at least --workers'],
    [['--workers', '3', '--url', 'nope'], '--url must be an http(s) URL (got "nope")'],
    [['--workers', '3', '--url', 'ftp://x/'], '--url must be an http(s) URL (got "ftp://x/")'],
    [['--workers', '3', '--served-by', 'cookie:x'], '--served-by must be header:NAME, json:FIELD or regex:RE (got "cookie:x")'],
    [['--workers', '3', '--served-by', 'regex:served by \\w+'], '--served-by regex:RE needs a group'],
    [['--workers', '3', '--served-by', 'regex:(['], '--served-by regex:RE is not a regular expression'],
    [['--workers', '3', '--served-by', 'header:'], '--served-by must be header:NAME'],
    [['--workers', '3', '--rate', '10'], '--rate needs --during'],
    [['--workers', '3', '--during', ' '], '--during needs a command'],
    [['--workers', '3', '--during', 'true', '--rate', '0'], '--rate must be a whole number ≥ 1 (got "0")'],
    [['--workers', '3', '--during', 'true', '--join-within', '10', '--after', '10'], '--join-within must be shorter than --after'],
    [['--workers', '3', '--during', 'true', '--concurrency', '1', '--strict'], '--strict cannot be used with --during'],
    [['--workers', '3', '--junit', ''], '--junit needs a file name'],
    [['--workers', '3', '--tolerance', '2'], '--tolerance must be a fraction from 0 to 1 (got "2")'],
    [['--workers', '3', '--strict'], '--strict needs --concurrency 1'],
    [['--workers', '3', '--settle=-1'], '--settle must be a whole number ≥ 0 (got "-1")'],
    [['--workers', '3', 'extra'], 'Unexpected argument']
  ])('%j: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError)
    expect(() => parseCommand(argv)).toThrow(message)
  })

  it('reads every option', () => {
    expect(parseCommand(['--workers', '5', '--hits', '50', '--concurrency', '1', '--strict', '--settle', '10', '--json', '--url', 'http://127.0.0.1:9',
      '--served-by', 'json:hostname', '--junit', 'out.xml'])).toEqual({
      help: false,
      json: true,
      options: {
        url: 'http://127.0.0.1:9',
        workers: 5,
        hits: 50,
        concurrency: 1,
        tolerance: 0.25,
        strict: true,
        settleSeconds: 10,
        servedBy: 'json:hostname',
        junit: 'out.xml',
        during: undefined
      }
    })
    const optionsOf = (argv: string[]): Options => {
      const command = parseCommand(argv)
      if (command.help) throw new Error('--help')
      return command.options
    }
    expect(optionsOf(['--workers', '5', '--during', 'docker compose up -d --scale api=5', '--rate', '20', '--before', '2', '--after', '8',
      '--expect-after', '4', '--join-within', '3', '--max-failed', '1']).during).toEqual({
      command: 'docker compose up -d --scale api=5', rate: 20, beforeSeconds: 2, afterSeconds: 8, expectAfter: 4, joinWithinSeconds: 3, maxFailed: 1
    })
    expect(optionsOf(['--workers', '5', '--during', 'true']).during).toMatchObject({ rate: 50, beforeSeconds: 3, afterSeconds: 10, expectAfter: 5, joinWithinSeconds: 5, maxFailed: 0 })
    expect(parseCommand(['--help'])).toEqual({ help: true })
  })

  it('--help names every option the parser takes', async () => {
    const source = await import('node:fs/promises').then(async (fs) => await fs.readFile('tools/options.ts', 'utf8'))
    const taken = [...source.slice(source.indexOf('options: {', source.indexOf('parseArgs'))).matchAll(/^ {8}'?([a-z-]+)'?: \{ type/gm)].map((m) => m[1]!)
    expect(taken.length).toBeGreaterThan(15)
    const { USAGE } = await import('../../tools/options.js')
    for (const name of taken) expect(USAGE, name).toContain(`--${name}`)
  })
})

describe('formatReport', () => {
  it('a bar per worker, then PASS/FAIL lines and the verdict', () => {
    const text = formatReport(judge(options(), hosts('a b c a b c'), { counted: 6 }))
    expect(text.split('\n').slice(0, 2)).toEqual(['backend     hits  share', 'a              2   33.3 %  #############'])
    expect(text).toContain('PASS  counter moved by exactly the hits answered: +6 for 6 answered')
    expect(text.endsWith('balance check passed')).toBe(true)
  })
})

describe('--served-by: which backend an answer names', () => {
  const headers = (entries: Record<string, string>): { get: (name: string) => string | null } =>
    ({ get: (name) => Object.entries(entries).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1] ?? null })
  it.each([
    ['header:X-Served-By', { 'x-served-by': 'w1' }, '', 'w1'],
    ['header:X-Served-By', {}, 'hello', ''],
    ['header:X-Upstream', { 'X-Upstream': '10.0.0.7:80' }, '', '10.0.0.7:80'],
    ['json:hostname', {}, '{"hostname":"whoami-2","ip":["10.0.0.3"]}', 'whoami-2'],
    ['json:host.name', {}, '{"host":{"name":"api-1"}}', 'api-1'],
    ['json:hostname', {}, 'not json', ''],
    ['json:hostname', {}, '{"hostname":{"a":1}}', ''],
    ['regex:I am ([\\w-]+)!', {}, 'Hello World I am 4f2a9c1b! 7 times.', '4f2a9c1b'],
    ['regex:Hostname: (\\S+)', {}, 'Hostname: whoami-3\nIP: 10.0.0.4', 'whoami-3'],
    ['regex:Hostname: (\\S+)', {}, 'nothing here', '']
  ])('%s on %j %j: "%s"', (spec, head, body, backend) => {
    expect(backendOf(parseServedBy(spec), headers(head), body)).toBe(backend)
  })
})

describe('another service: hitcounter\'s counter checks are skipped, never failed', () => {
  it('no /stats: the two counter checks say SKIP and why; the verdict rests on the others', () => {
    const answers = hosts('a b c a b c').map((answer) => ({ ...answer, hits: NaN }))
    const report = judge(options(), answers, { missing: 'GET http://localhost:8080/stats answered 404' })
    expect(report.ok).toBe(true)
    expect(report.counted).toBeNull()
    expect(report.checks.filter((c) => c.skipped).map((c) => c.name)).toEqual(['counter moved by exactly the hits answered', 'no number given twice'])
    expect(formatReport(report)).toContain('SKIP  counter moved by exactly the hits answered: skipped: GET http://localhost:8080/stats answered 404 (not hitcounter)')
    expect(judge(options(), hosts('a b a b a b'), { missing: '404' }).ok).toBe(false)
  })
})

describe('disruption mode (--during): the stale-address bug, both halves', () => {
  const during = { command: 'scale', rate: 10, beforeSeconds: 2, afterSeconds: 4, expectAfter: 5, joinWithinSeconds: 1, maxFailed: 0 }
  const run: CommandRun = { startedAt: 2000, endedAt: 3000, exitCode: 0, output: '' }
  /** Hits every 100 ms for 7 s, each answered by `who(ms)` (a name, or a status for a failure). */
  const timed = (who: (ms: number, n: number) => string | number): TimedHit[] => Array.from({ length: 70 }, (_, n) => {
    const at = n * 100
    const by = who(at, n)
    return { at, answer: typeof by === 'number' ? failed(by, 'no live upstreams') : { ...served(by), hits: NaN } }
  })
  type Who = (ms: number, n: number) => string | number
  const judgeRun = (who: Who, overrides: Partial<typeof during> = {}, command = run): ReturnType<typeof judgeDisruption> =>
    judgeDisruption(options({ workers: during.expectAfter, during: { ...during, ...overrides } }), timed(who), command, { missing: '404' })
  const failing = (report: ReturnType<typeof judgeDisruption>): string[] => report.checks.filter((c) => !c.ok).map((c) => c.name)

  it.each([
    ['scaled 3 -> 5, the new two used from the change on: passes', (ms: number, n: number) => `b${ms < 3000 ? n % 3 : n % 5}`, {}, [], 'b3 from 3.3 s, b4 from 3.4 s'],
    ['scaled 3 -> 5, the new two never used (a name resolved once): fails, naming the three that served', (_ms: number, n: number) => `b${n % 3}`, {},
      ['exactly 5 backends served after the change'], '3 served from 4.0 s on: b0 b1 b2'],
    ['a new backend used only 2 s after the change: too late', (ms: number, n: number) => `b${ms < 5000 ? n % 3 : n % 4}`, { expectAfter: 4 },
      ['every new backend served within 1 s of the change'], 'too late: b3'],
    ['recreated, the old addresses answered 502: fails on the failed hits', (ms: number, n: number) => ms < 3000 ? `b${n % 3}` : n % 2 === 0 ? 502 : `c${n % 3}`, { expectAfter: 3 },
      ['at most 0 hits failed'], '20 of 70 failed, 20 of them after the command'],
    ['scaled 5 -> 2, one that left still served after the change', (ms: number, n: number) => ms < 3000 ? `b${n % 5}` : ms < 3500 && n % 3 === 0 ? 'b4' : `b${n % 2}`, { expectAfter: 2 },
      ['no backend that left served after the change'], 'served after the change: b4']
  ])('%s', (_case, who, overrides, expected, detail) => {
    const report = judgeRun(who, overrides)
    expect(failing(report)).toEqual(expected)
    expect(report.checks.map((c) => c.detail).join(' | ')).toContain(detail)
  })

  it('a command that failed fails the check, with the end of its output', () => {
    const report = judgeRun((_ms, n) => `b${n % 5}`, {}, { ...run, exitCode: 1, output: 'no such service: api\n' })
    expect(failing(report)).toEqual(['the command succeeded'])
    expect(report.checks[0]!.detail).toBe('exit code 1 after 1.0 s: no such service: api')
  })

  it('the timeline: a line a second, who served (hits each), what failed, and the phase', () => {
    const lines = timeline(timed((ms, n) => ms >= 3000 && ms < 4000 && n % 2 === 0 ? 502 : `b${n % 2}`), run)
    expect(lines).toHaveLength(7)
    expect(lines[0]).toBe('  0 s before  b0×5 b1×5')
    expect(lines[2]).toBe('  2 s during  b0×5 b1×5')
    expect(lines[3]).toBe('  3 s after   b1×5; 5 failed (502)')
  })
})

describe('--junit: a test case per check', () => {
  it('passed, failed (with its detail) and skipped, escaped, with the totals', () => {
    const report = judge(options(), [...hosts('a b <c> a b'), failed(502, 'bad & worse')], { missing: '404' })
    const xmlText = junitXml(report)
    expect(xmlText).toContain('<testsuites name="hitcounter-check" tests="5" failures="1" skipped="2">')
    expect(xmlText).toContain('<testcase classname="hitcounter-check" name="every hit answered 200"><failure message="5/6">5/6\n502 from the load balancer: bad &#38; worse</failure></testcase>')
    expect(xmlText).toContain('<skipped message="skipped: 404 (not hitcounter)"/>')
    expect(xmlText.match(/<testcase /g)).toHaveLength(5)
  })
})
