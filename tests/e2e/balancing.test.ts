import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack, type Hit } from '../support/stack.js'
import { waitFor } from '../support/ports.js'

// The real docker-compose.yml: nginx, workers and Redis in containers; traffic
// goes to nginx's published port on 127.0.0.1 only.
let stack: Stack
const everyAnswer: Hit[] = []

beforeAll(async () => { stack = await Stack.up(3) })
afterAll(async () => { await stack?.down() })

describe('the compose stack balances hits over the workers', () => {
  it('with 3 workers, 12 sequential hits rotate strictly over the 3 running containers', async () => {
    const answers: Hit[] = []
    for (let i = 0; i < 12; i++) answers.push(await stack.hit())
    everyAnswer.push(...answers)
    const sequence = answers.map((answer) => answer.hostname)
    console.log(`rotation: ${sequence.join(' ')}`)

    expect(answers.every((answer) => answer.status === 200)).toBe(true)
    expect([...new Set(sequence)].sort()).toEqual(await stack.workerHostnames())
    for (let i = 0; i + 3 <= sequence.length; i++) {
      expect(new Set(sequence.slice(i, i + 3)).size, `hits ${i + 1}..${i + 3}: ${sequence.slice(i, i + 3).join(' ')}`).toBe(3)
    }
  })

  it('600 hits at concurrency 16: all answered, counted exactly, each worker at least 25 %', async () => {
    const before = await stack.stats()
    const answers = await stack.hits(600, 16)
    everyAnswer.push(...answers)
    const after = await stack.stats()

    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(after.total - before.total).toBe(answers.length)
    const perWorker = new Map<string, number>()
    for (const { hostname } of answers) perWorker.set(hostname, (perWorker.get(hostname) ?? 0) + 1)
    console.log(`600 hits at concurrency 16: ${[...perWorker].map(([host, n]) => `${host}=${n}`).join(' ')}`)
    expect([...perWorker.keys()].sort()).toEqual(await stack.workerHostnames())
    for (const served of perWorker.values()) expect(served).toBeGreaterThanOrEqual(600 * 0.25)
    // The per-worker counts in Redis moved exactly as the answers say.
    for (const [host, served] of perWorker) expect((after.workers[host] ?? 0) - (before.workers[host] ?? 0)).toBe(served)
  })

  it('scaled live to 5 workers, all 5 serve within seconds and nginx is not restarted', async () => {
    const [web] = await stack.containerIds('web')
    const webStartedAt = await stack.inspect(web!, '{{.State.StartedAt}}')

    await stack.run('up', '-d', '--no-recreate', '--scale', 'worker=5')
    const running = await stack.workerHostnames()
    expect(running).toHaveLength(5)

    const seen = new Set<string>()
    const msToAll = await waitFor('all 5 workers to serve', async () => {
      const round = await stack.hits(10, 1)
      everyAnswer.push(...round)
      for (const answer of round) if (answer.status === 200) seen.add(answer.hostname)
      return running.every((host) => seen.has(host))
    }, 20000, 100)
    console.log(`scale 3 -> 5: all 5 workers served ${msToAll} ms after 'up --scale' returned`)

    expect(await stack.containerIds('web')).toEqual([web])
    expect(await stack.inspect(web!, '{{.State.StartedAt}}')).toBe(webStartedAt)
    expect(await stack.inspect(web!, '{{.RestartCount}}')).toBe('0')
  })

  it('every answer so far carried a number of its own: nothing was counted twice', () => {
    const numbers = everyAnswer.filter((answer) => answer.status === 200).map((answer) => answer.hits)
    expect(numbers.length).toBeGreaterThan(600)
    expect(new Set(numbers).size).toBe(numbers.length)
  })
})
