import { describe, expect, it } from 'vitest'
import { firstRepeat, formatReport, judge, parseCommand, UsageError, type Options } from '../../tools/balance.js'
import type { HitOutcome } from '../../tools/hits.js'

// The balance check's verdict as plain logic: no Docker, no network.
const options = (overrides: Partial<Options> = {}): Options => ({
  url: 'http://localhost:8080', workers: 3, hits: 6, concurrency: 1, tolerance: 0.25, strict: false, settleSeconds: 0, ...overrides
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
    const report = judge(opts, answers, counted)
    expect(report.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(failing)
    expect(report.ok).toBe(failing.length === 0)
    expect(report.checks.map((check) => check.detail).join(' | ')).toContain(detail)
  })

  it('the spread names the real minimum and maximum (no stray 0)', () => {
    const report = judge(options({ hits: 300 }), [...Array(100)].flatMap(() => hosts('a b c')), 300)
    expect(report.checks[2]!.detail).toBe('100..100 (allowed 75..125)')
  })

  it('a number given twice fails', () => {
    const answers = hosts('a b c')
    answers[2]!.hits = answers[0]!.hits
    expect(judge(options({ hits: 3 }), answers, 3).checks.find((check) => !check.ok)?.name).toBe('no number given twice')
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
    [['--workers', '3', '--url', 'nope'], '--url must be a URL (got "nope")'],
    [['--workers', '3', '--tolerance', '2'], '--tolerance must be a fraction from 0 to 1 (got "2")'],
    [['--workers', '3', '--strict'], '--strict needs --concurrency 1'],
    [['--workers', '3', '--settle=-1'], '--settle must be a whole number ≥ 0 (got "-1")'],
    [['--workers', '3', 'extra'], 'Unexpected argument']
  ])('%j: %s', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError)
    expect(() => parseCommand(argv)).toThrow(message)
  })

  it('reads every option', () => {
    expect(parseCommand(['--workers', '5', '--hits', '50', '--concurrency', '1', '--strict', '--settle', '10', '--json', '--url', 'http://127.0.0.1:9'])).toEqual({
      help: false,
      json: true,
      options: { url: 'http://127.0.0.1:9', workers: 5, hits: 50, concurrency: 1, tolerance: 0.25, strict: true, settleSeconds: 10 }
    })
    expect(parseCommand(['--help'])).toEqual({ help: true })
  })
})

describe('formatReport', () => {
  it('a bar per worker, then PASS/FAIL lines and the verdict', () => {
    const text = formatReport(judge(options(), hosts('a b c a b c'), 6))
    expect(text.split('\n').slice(0, 2)).toEqual(['worker      hits  share', 'a              2   33.3 %  #############'])
    expect(text).toContain('PASS  counter moved by exactly the hits answered: +6 for 6 answered')
    expect(text.endsWith('balance check passed')).toBe(true)
  })
})
