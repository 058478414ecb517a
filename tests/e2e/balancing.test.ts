import { execFile } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../../harness/stack.js'
import type { HitOutcome } from '../../tools/hits.js'
import { firstRepeat } from '../../tools/verdict.js'

// The real docker-compose.yml: nginx, workers and Redis in containers; traffic
// goes to nginx's published port on 127.0.0.1 only.
let stack: Stack

/** Runs the built balance check (as `npm run check` does) against the stack. */
async function check (...args: string[]): Promise<{ code: number, output: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, ['dist/host/tools/check.js', '--url', stack.url, ...args], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err.code as number), output: stdout + stderr })
    })
  })
}

beforeAll(async () => { stack = await Stack.up(3) })
afterAll(async () => { await stack?.down() })

describe('the compose stack balances hits over the workers', () => {
  it('with 3 workers, 12 sequential hits rotate strictly over the 3 running containers', async () => {
    await stack.scaleTo(3)
    const answers: HitOutcome[] = []
    for (let i = 0; i < 12; i++) answers.push(await stack.hit())
    const sequence = answers.map((answer) => answer.hostname)
    console.log(`rotation: ${sequence.join(' ')}`)

    expect(answers.every((answer) => answer.status === 200)).toBe(true)
    expect([...new Set(sequence)].sort()).toEqual(await stack.workerHostnames())
    expect(firstRepeat(sequence, 3), `rotation: ${sequence.join(' ')}`).toBe(-1)
  })

  it('600 hits at concurrency 16 over 3 workers: all answered, counted exactly, each number once, each worker at least 25 %', async () => {
    await stack.scaleTo(3)
    const before = await stack.stats()
    const answers = await stack.hits(600, 16)
    const after = await stack.stats()

    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
    expect(after.total - before.total).toBe(answers.length)
    // Each answer carried a number of its own, all from the counter's move.
    const numbers = answers.map((answer) => answer.hits).sort((a, b) => a - b)
    expect(numbers).toEqual(Array.from({ length: 600 }, (_, i) => before.total + 1 + i))
    const perWorker = new Map<string, number>()
    for (const { hostname } of answers) perWorker.set(hostname, (perWorker.get(hostname) ?? 0) + 1)
    console.log(`600 hits at concurrency 16: ${[...perWorker].map(([host, n]) => `${host}=${n}`).join(' ')}`)
    expect([...perWorker.keys()].sort()).toEqual(await stack.workerHostnames())
    for (const served of perWorker.values()) expect(served).toBeGreaterThanOrEqual(600 * 0.25)
    // The per-worker counts in Redis moved exactly as the answers say.
    for (const [host, served] of perWorker) expect((after.workers[host] ?? 0) - (before.workers[host] ?? 0)).toBe(served)
  })

  it('the balance check passes on 3 workers: concurrent, strict rotation, and as JSON', async () => {
    await stack.scaleTo(3)
    const concurrent = await check('--workers', '3', '--hits', '90', '--concurrency', '6')
    expect(concurrent.output).toMatch(/PASS {2}counter moved by exactly the hits answered: \+90 for 90 answered/)
    expect(concurrent.output).toContain('balance check passed')
    expect(concurrent.code).toBe(0)

    const strict = await check('--workers', '3', '--hits', '30', '--concurrency', '1', '--strict')
    expect(strict.output).toMatch(/PASS {2}strict rotation/)
    expect(strict.code).toBe(0)

    const json = await check('--workers', '3', '--hits', '30', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.output)).toMatchObject({ ok: true, answered: 30, failed: 0, counted: 30 })
  })

  it('the balance check fails when it expects more workers than serve', async () => {
    await stack.scaleTo(3)
    const result = await check('--workers', '4', '--hits', '40')
    expect(result.output).toContain('FAIL  exactly 4 workers served: 3 served')
    expect(result.code).toBe(1)
  })

  it('scaled live from 3 to 5 workers, all 5 serve within seconds and nginx is not restarted', async () => {
    await stack.scaleTo(3)
    const [web] = await stack.containerIds('web')
    const webStartedAt = await stack.inspect(web!, '{{.State.StartedAt}}')

    const started = Date.now()
    expect(await stack.scaleTo(5, 20000)).toHaveLength(5)
    console.log(`scale 3 -> 5: all 5 workers served ${Date.now() - started} ms after 'up --scale' began`)

    expect(await stack.containerIds('web')).toEqual([web])
    expect(await stack.inspect(web!, '{{.State.StartedAt}}')).toBe(webStartedAt)
    expect(await stack.inspect(web!, '{{.RestartCount}}')).toBe('0')
  })

  it('scaled 3 -> 2 between one-at-a-time hits, at each phase of the turns: at most one repeat, at the change, then strict turns', async () => {
    // nginx's round robin (smooth weighted) keeps each peer's credit when its
    // list changes: a worker that leaves while it is the one due next takes its
    // credit with it, and one of those that stay is due twice in a row, once.
    // Stock nginx has no setting that resets the credits (docs/how-it-works.md).
    for (let phase = 0; phase < 3; phase++) {
      const before = await stack.scaleTo(3)
      const shown: string[] = []
      const hitOnce = async (): Promise<void> => {
        const answer = await stack.hit()
        expect(answer.status).toBe(200)
        shown.push(answer.hostname)
        await new Promise((resolve) => setTimeout(resolve, 250)) // a person's fast refresh
      }
      for (let i = 0; i < 3 + phase; i++) await hitOnce()
      const scaled = { done: false }
      const scaling = stack.run('up', '-d', '--no-recreate', '--scale', 'worker=2').then(() => { scaled.done = true })
      while (!scaled.done) await hitOnce()
      await scaling
      for (let i = 0; i < 12; i++) await hitOnce()
      const after = await stack.workerHostnames()
      const [gone] = before.filter((host) => !after.includes(host))
      const repeats = shown.flatMap((host, i) => i > 0 && host === shown[i - 1] ? [i] : [])
      console.log(`3 -> 2, phase ${phase}: ${shown.map((host) => host === gone ? `(${host.slice(0, 4)})` : host.slice(0, 4)).join(' ')}; repeats at ${JSON.stringify(repeats)}`)
      expect(repeats.length, shown.join(' ')).toBeLessThanOrEqual(1)
      // The repeat, where there is one, comes once the leaver is gone: when nginx
      // finds it refusing, or drops it from its list (DNS, within about 2 s).
      for (const at of repeats) expect(at, shown.join(' ')).toBeGreaterThan(shown.lastIndexOf(gone!))
      expect(firstRepeat(shown.slice(-6), 2), shown.join(' ')).toBe(-1)
    }
  })

  it('a worker cut off the network: nginx routes around it with no failed hit, and the check names the missing worker', async () => {
    await stack.scaleTo(5)
    const [cutOff] = await stack.containerIds('worker')
    await stack.disconnect(cutOff!, 'workers')
    try {
      expect(await stack.inspect(cutOff!, '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}'), 'the worker is off nginx\'s network')
        .not.toContain(`${stack.project}_workers`)
      // No wait: "apps" still lists the cut-off address for up to a second, and a
      // hit sent there (on a kept-alive connection: nothing answers, nothing
      // refuses) is tried again on another worker after nginx's read timeout.
      const result = await check('--workers', '5', '--hits', '100')
      expect(result.output).toContain('PASS  every hit answered 200: 100/100')
      expect(result.output).toContain('PASS  counter moved by exactly the hits answered: +100 for 100 answered')
      expect(result.output).toContain('FAIL  exactly 5 workers served: 4 served')
      expect(result.code).toBe(1)
    } finally {
      // Back, as compose attached it, so the stack's other tests meet only workers that serve.
      await stack.connect(cutOff!, 'workers', ['apps', 'worker'])
    }
  })
})
