import { mkdir, readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sh, Stack } from '../../harness/stack.js'
import { PrometheusApi } from '../support/prometheus.js'
import { launchChromium } from '../support/browser.js'
import { freePort, waitFor } from '../../harness/wait.js'
import { hit, Load } from '../../tools/hits.js'
import { expectExact } from '../support/exact.js'

// The README's metrics command: the real stack with its profile "metrics", a
// real Prometheus that finds the workers by the alias "apps" (as nginx does),
// and the exporters for Redis and nginx. Prometheus is published on 127.0.0.1.
const ARTIFACTS = 'test-results'
/** The balancing, one series per worker (metrics/rules.yml). */
const PER_WORKER_RATE = 'worker:hitcounter_hits:rate10s'

let stack: Stack
let prometheus: PrometheusApi

beforeAll(async () => {
  const metricsPort = await freePort()
  stack = await Stack.up(3, { profiles: ['metrics'], env: { METRICS_PORT: String(metricsPort) } })
  prometheus = new PrometheusApi(`http://127.0.0.1:${metricsPort}`)
  await waitFor('Prometheus to answer', async () => await prometheus.version().then(() => true, () => false), 30000, 200)
})
afterAll(async () => { await stack?.down() })

/** The running workers' addresses on the stack's internal network, what Docker's DNS answers for "apps". */
async function workerAddresses (): Promise<string[]> {
  const ids = await stack.containerIds('worker')
  const addresses = await Promise.all(ids.map(async (id) => await stack.inspect(id, `{{(index .NetworkSettings.Networks "${stack.project}_workers").IPAddress}}`)))
  return addresses.map((address) => `${address}:3000`).sort()
}

/** Waits until Prometheus scrapes exactly the running workers, each healthy; the ms it took. */
async function targetsFollow (timeoutMs: number): Promise<number> {
  const expected = await workerAddresses()
  let seen = ''
  try {
    return await waitFor(`Prometheus's worker targets to be ${expected.join(' ')}`, async () => {
      const targets = await prometheus.targets('workers')
      seen = targets.map((target) => `${target.labels.instance} ${target.health}`).join(', ')
      return targets.every((target) => target.health === 'up') && targets.map((target) => target.labels.instance).sort().join() === expected.join()
    }, timeoutMs, 250)
  } catch (err) {
    throw new Error(`${(err as Error).message}; its targets were: ${seen}`)
  }
}

/** Waits until every worker target was scraped after `since` (ms since the epoch), so a query sees what happened before it. */
async function scrapedSince (since: number): Promise<void> {
  await waitFor('a scrape of every worker', async () =>
    (await prometheus.targets('workers')).every((target) => target.health === 'up' && Date.parse(target.lastScrape) > since), 15000, 250)
}

/**
 * Waits until the recording rule has a series for exactly the running workers,
 * each above 0 hits/s: every worker's share shows in the graph. The ms it took.
 */
async function sharesShown (timeoutMs: number): Promise<number> {
  const hostnames = await stack.workerHostnames()
  let seen = ''
  try {
    return await waitFor('the rule\'s series to show each running worker\'s share', async () => {
      const rates = await prometheus.query(PER_WORKER_RATE)
      seen = rates.map((series) => `${series.labels.worker}=${series.value}`).join(' ')
      return rates.map((series) => series.labels.worker).sort().join() === hostnames.join() && rates.every((series) => series.value > 0)
    }, timeoutMs, 500)
  } catch (err) {
    throw new Error(`${(err as Error).message}; the series were: ${seen}`)
  }
}

describe('Prometheus finds the workers through Docker\'s DNS, by the alias "apps"', () => {
  it('while hits flow, 3 -> 5 -> 2 workers: the targets follow within 15 s each step, every worker\'s share shows in the rule\'s series, no hit fails, the counter moves by the hits answered, and the graph page is drawn', async () => {
    await stack.scaleTo(3)
    const before = await stack.stats()
    // A person's pace, about 40 hits a second: enough for a graph, little load.
    const load = new Load(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      return await hit(stack.url)
    }, 2)
    try {
      console.log(`3 workers: Prometheus's targets followed in ${await targetsFollow(15000)} ms`)
      console.log(`3 workers: each one's share in the rule's series after ${await sharesShown(30000)} ms`)
      for (const workers of [5, 2]) {
        const started = Date.now()
        await stack.run('up', '-d', '--no-recreate', '--scale', `worker=${workers}`)
        const followed = await targetsFollow(Math.max(1000, 15000 - (Date.now() - started)))
        console.log(`${workers} workers: Prometheus's targets followed ${Date.now() - started} ms after the scale command (${followed} ms after it returned)`)
        console.log(`${workers} workers: each one's share in the rule's series ${await sharesShown(30000)} ms after that`)
      }
      const rates = await prometheus.query(PER_WORKER_RATE)
      console.log(`per-worker hits/s: ${rates.map((series) => `${series.labels.worker}=${series.value.toFixed(1)}`).join(' ')}`)

      await mkdir(ARTIFACTS, { recursive: true })
      const browser = await launchChromium()
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 700 } })
        const expr = encodeURIComponent(PER_WORKER_RATE)
        // Prometheus 3's page is /query; Debian's 2.53 (the stand-in with no registry, docs/offline.md) has only the classic one.
        const graph = (await prometheus.version()).startsWith('2.')
          ? `/classic/graph?g0.expr=${expr}&g0.tab=0&g0.range_input=1m`
          : `/query?g0.expr=${expr}&g0.tab=graph&g0.range_input=1m`
        await page.goto(`${prometheus.url}${graph}`, { waitUntil: 'networkidle' })
        // The graph is drawn: a canvas or an SVG path for the series (the classic page's flot, or Prometheus 3's uPlot).
        await page.locator('canvas, svg path').first().waitFor({ timeout: 10000 })
        await page.screenshot({ path: `${ARTIFACTS}/prometheus-graph.png`, fullPage: true })
      } finally {
        await browser.close()
      }
    } finally {
      const answers = await load.stop()
      expectExact('hits while scaling 3 -> 5 -> 2', { answers, before, after: await stack.stats() })
    }
  })

  it('after 600 hits through nginx, the workers\' hitcounter_hits_total moved by 600 in all, and by each worker\'s own count in Redis', async () => {
    // However many workers run now: the sum must hold for any number.
    await targetsFollow(15000)
    const read = async (): Promise<{ counted: Record<string, number>, total: number, byWorker: Record<string, number> }> => {
      await scrapedSince(Date.now())
      const counted = Object.fromEntries((await prometheus.query('hitcounter_hits_total')).map((series) => [series.labels.worker!, series.value]))
      const stats = await stack.stats()
      return { counted, total: stats.total, byWorker: stats.workers }
    }
    const before = await read()
    const answers = await stack.hits(600, 8)
    const after = await read()
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([])

    const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((all, n) => all + n, 0)
    expect(after.total - before.total).toBe(600)
    expect(sum(after.counted) - sum(before.counted)).toBe(600)
    const hostnames = await stack.workerHostnames()
    expect(Object.keys(after.counted).sort()).toEqual(hostnames)
    for (const host of hostnames) {
      expect((after.counted[host] ?? 0) - (before.counted[host] ?? 0), host).toBe((after.byWorker[host] ?? 0) - (before.byWorker[host] ?? 0))
    }
  })

  it('Redis and nginx are scraped through their exporters, Redis\'s as its own user, on a network of their own with Prometheus', async () => {
    await waitFor('both exporters to be up', async () => {
      const up = await prometheus.query('up{job=~"redis|nginx"}')
      return up.length === 2 && up.every((series) => series.value === 1)
    }, 20000, 500)
    // Each exporter reaches what it watches (its own "up" is only the exporter's).
    expect((await prometheus.query('redis_up')).map((series) => series.value)).toEqual([1])
    expect((await prometheus.query('nginx_up')).map((series) => series.value)).toEqual([1])
    expect(await stack.inspectNetwork('metrics', '{{.Internal}}')).toBe('true')
    // Neither the exporter nor any worker was refused anything in this whole run: Redis's ACL LOG is empty.
    expect((await stack.run('exec', '-T', 'redis', 'hitcounter-cli', 'ACL', 'LOG')).trim()).toBe('')
  })

  it('Redis\'s exporter without its password file stops at start with a line naming the file', async () => {
    const { services } = parse(await readFile('docker-compose.yml', 'utf8')) as { services: Record<string, { image: string, environment: Record<string, string> }> }
    const exporter = services['redis-exporter']!
    const file = exporter.environment.REDIS_PASSWORD_FILE!
    const started = await sh('docker', ['run', '--rm', '--network', 'none', '-e', `REDIS_PASSWORD_FILE=${file}`, '-e', 'REDIS_USER=exporter', exporter.image])
      .then(() => 'ran', (err: Error) => err.message)
    expect(started).toMatch(new RegExp(`level=fatal .*${file.replaceAll('.', '\\.')}`))
  })
})

describe('the Prometheus files, checked by promtool in the image the stack runs', () => {
  /** promtool in docker-compose.yml's Prometheus image, with repository files mounted read-only (container path -> file). */
  const promtool = async (mounts: Record<string, string>, ...args: string[]): Promise<string> => {
    const { services } = parse(await readFile('docker-compose.yml', 'utf8')) as { services: { prometheus: { image: string } } }
    const volumes = Object.entries(mounts).flatMap(([target, file]) => ['-v', `${resolve(file)}:${target}:ro`])
    return await sh('docker', ['run', '--rm', '--entrypoint', 'promtool', ...volumes, services.prometheus.image, ...args])
  }
  const CONFIG = { '/etc/prometheus/prometheus.yml': 'metrics/prometheus.yml', '/etc/prometheus/rules.yml': 'metrics/rules.yml' }

  it('Compose\'s config and Swarm\'s (the same, without the exporters) are valid, with their rules and scrape files', async () => {
    expect(await promtool({ '/etc/prometheus': 'metrics' }, 'check', 'config', '/etc/prometheus/prometheus.yml')).toContain('SUCCESS: 2 rules found')
    const swarm = parse(await readFile('deploy/swarm/metrics.yml', 'utf8')) as { services: { prometheus: { configs: Array<{ source: string, target: string }> } }, configs: Record<string, { file: string }> }
    const mounts = Object.fromEntries(swarm.services.prometheus.configs.map(({ source, target }) => [target, `deploy/swarm/${swarm.configs[source]!.file}`]))
    expect(Object.values(mounts).sort()).toEqual(['metrics/prometheus.yml', 'metrics/rules.yml', 'metrics/scrape/workers.yml'].map((file) => `deploy/swarm/../../${file}`))
    expect(await promtool(mounts, 'check', 'config', '/etc/prometheus/prometheus.yml')).toContain('SUCCESS')
  })

  it('the Kubernetes scrape file is a valid scrape config for a plain Prometheus', async () => {
    const mounts = { ...CONFIG, '/etc/prometheus/scrape/workers.yml': 'deploy/kubernetes/prometheus-scrape.yml' }
    expect(await promtool(mounts, 'check', 'config', '/etc/prometheus/prometheus.yml')).toContain('SUCCESS')
  })

  it('the recording rules give each worker its hits per second, a restarted worker\'s too (promtool test rules)', async () => {
    expect(await promtool({ ...CONFIG, '/tests/rules.test.yml': 'tests/metrics/rules.test.yml' }, 'test', 'rules', '/tests/rules.test.yml')).toContain('SUCCESS')
  })
})

describe('/metrics is for Prometheus, not visitors', () => {
  it.each(['/metrics', '/metrics?format=text', '//metrics', '/%6Detrics'])('GET %s through nginx\'s port: 404, and no hit', async (path) => {
    const before = await stack.stats()
    const res = await fetch(`${stack.url}${path}`)
    expect(res.status).toBe(404)
    expect(res.headers.get('x-served-by')).toBeNull()
    expect(await res.json()).toMatchObject({ statusCode: 404 })
    expect((await stack.stats()).total).toBe(before.total)
  })
})
