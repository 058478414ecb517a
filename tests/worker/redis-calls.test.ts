import { describe, expect, it } from 'vitest'
import { ReplyError } from 'ioredis'
import { classify, CounterUnavailableError } from '../../worker/src/redis/calls.js'
import { decodeCountReply } from '../../worker/src/counter/count-hits.js'

// The one table of how a Redis call fails (its metric's kind, tried again or
// not, the client's answer), and the typed reading of the count script's reply.
const reply = (message: string): Error => new ReplyError(message)

describe('classify: a failed Redis call', () => {
  it.each([
    ['a lost connection', new Error('Connection is closed.'), 'connection', true, 503],
    ['a command timeout', new Error('Command timed out'), 'timeout', false, 503],
    ['a demoted primary', reply('READONLY You can\'t write against a read only replica.'), 'readonly', true, 503],
    ['Redis loading its file', reply('LOADING Redis is loading the dataset in memory'), 'loading', true, 503],
    ['no replica right now', reply('NOREPLICAS Not enough good replicas to write.'), 'noreplicas', true, 503],
    ['a sentinel without a primary', reply('MASTERDOWN Link with MASTER is down'), 'masterdown', true, 503],
    ['a bug (a wrong type)', reply('WRONGTYPE Operation against a key holding the wrong kind of value'), 'wrongtype', false, 500],
    ['a reply with no code', reply('something odd'), 'reply', false, 500],
    ['the budget spent', new CounterUnavailableError(new Error('no answer')), 'unavailable', false, 503]
  ])('%s: kind %s, tried again %s, answered %i', (_case, err, kind, retry, status) => {
    const verdict = classify(err)
    expect(verdict.kind).toBe(kind)
    expect(verdict.retry).toBe(retry)
    expect(verdict.answer instanceof CounterUnavailableError ? 503 : 500).toBe(status)
    if (status === 500) expect(verdict.answer).toBe(err)
  })
})

describe('decodeCountReply: {number, worker\'s count, how} per hit', () => {
  it('reads each hit\'s triple and how it was counted', () => {
    expect(decodeCountReply([7, 3, 1, 5, 4, 2, 6, 1, 0], 3)).toEqual([
      { total: 7, worker: 3, how: 'now' }, { total: 5, worker: 4, how: 'already-mine' }, { total: 6, worker: 1, how: 'moved-here' }
    ])
  })
  it.each([
    [[7, 3], 1, 'the count script answered 2 values for 1 hits'],
    [[7, 3, 9], 1, 'the count script answered how=9']
  ])('%j for %i hit(s): "%s"', (values, hits, message) => {
    expect(() => decodeCountReply(values, hits)).toThrow(message)
  })
})
