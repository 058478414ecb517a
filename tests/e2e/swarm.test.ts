import { mkdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Lab, NODE_LOSS_ANSWER_MS, NODES, type Node, type Task } from '../support/lab.js'
import { expectCountedOnce, expectExact, type TimedRun } from '../support/exact.js'
import { waitFor } from '../../harness/wait.js'
import { NO_ADDRESS } from '../../harness/stack.js'
import { launchChromium } from '../support/browser.js'
import { firstRepeat } from '../../tools/verdict.js'
import type { HitOutcome, Load } from '../../tools/hits.js'
import type { StatsReply } from '../../worker/src/http/schemas.js'

// deploy/swarm/hitcounter.yml on the three-node lab (scripts/swarm-lab.sh): three
// Docker Engines, each in a container of this machine, joined as three managers.
// Traffic goes to the nodes' entries on 127.0.0.1 only.
const WORKERS = 6
const CLIENTS = 4
/** Longer than the longest limit a frozen Redis must outlast: the Swarm id window (40 s), presence (15 s), reconnects (0.5 s). */
const OUTAGE_MS = 60000
let lab: Lab

beforeAll(async () => { lab = await Lab.up(WORKERS) })
afterAll(async () => { await lab?.down() })

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Runs `change` while `CLIENTS` clients hit the entries of `entries`, with `settleMs` of load before and after. */
async function underLoad (change: (load: Load) => Promise<void>, entries: readonly Node[] = NODES, settleMs = 3000): Promise<TimedRun> {
  const before = await lab.stats(entries[0])
  const load = lab.load(CLIENTS, entries)
  await sleep(settleMs)
  await change(load)
  await sleep(settleMs)
  const answers = await load.stop()
  // Read once the counter answers again: after a node's loss, a failover on a
  // slow machine may still be under way when the load stops (a /stats read 15 s
  // after the kill answered 503 once); the count it gives is the same.
  let after: StatsReply | undefined
  await waitFor(`/stats through ${entries[0]} to answer`, async () =>
    (after = await lab.stats(entries[0]).catch(() => undefined)) !== undefined, 60000, 250)
  return { answers, sentAt: load.sentAt, before, after: after! }
}

/** Waits until `n` worker tasks run and the load's own hits have reached each (a hit of the test's would upset the count). */
async function loadReachesAll (load: Load, n: number): Promise<void> {
  let tasks: Task[] = []
  await waitFor(`${n} worker tasks`, async () => (tasks = await lab.workers()).length === n, 120000, 500)
  await waitFor(`the load to reach all ${n} workers`, async () => {
    const served = new Set(load.answers.map((answer) => answer.hostname))
    return tasks.every((task) => served.has(task.host))
  }, 120000, 100)
}

/**
 * Every node up and active, Redis and the sentinels 3/3, and the workers on
 * all three nodes again: what each test starts from, whatever ran before it.
 */
async function whole (): Promise<void> {
  for (const node of NODES) {
    if (!(await lab.liveNodes()).includes(node)) await lab.restart(node)
  }
  for (const node of NODES) await lab.docker('n1', 'node', 'update', '--availability', 'active', node)
  for (const service of ['redis', 'sentinel']) {
    await waitFor(`3 ${service} tasks`, async () => (await Promise.all(NODES.map(async (node) => (await lab.containers(node, service)).length))).every((n) => n === 1), 120000, 500)
  }
  await waitFor('the Redis primary to have 2 replicas', async () =>
    /connected_slaves:2/.test(await lab.exec(await lab.primaryNode(), 'redis', 'hitcounter-cli', 'INFO', 'replication').catch(() => '')), 60000, 500)
  const spread = new Set((await lab.workers()).map((task) => task.node))
  if (spread.size < NODES.length) {
    // Swarm does not move running tasks back by itself: fewer, then more, and the new ones go where there are fewest.
    await lab.docker('n1', 'service', 'scale', '--detach=false', `hitcounter_worker=${WORKERS / 2}`)
    await lab.docker('n1', 'service', 'scale', '--detach=false', `hitcounter_worker=${WORKERS}`)
  }
  await lab.allServing(WORKERS)
}

describe('three nodes, one stack', () => {
  it('the workers spread over all 3 nodes and take strict turns through each node\'s entry; /stats knows each one\'s node', async () => {
    // The spread the stack file gives on its first deploy: this test runs first, before any rescale of whole().
    const tasks = await lab.allServing(WORKERS)
    const perNode = NODES.map((node) => tasks.filter((task) => task.node === node).length)
    console.log(`lab: ${WORKERS} workers per node ${NODES.map((node, i) => `${node}=${perNode[i]}`).join(' ')}`)
    expect(perNode.every((n) => n > 0)).toBe(true)
    for (const node of NODES) {
      const answers: HitOutcome[] = []
      for (let i = 0; i < 2 * WORKERS; i++) answers.push(await lab.hit(node))
      const hosts = answers.map((answer) => answer.hostname)
      expect(answers.filter((answer) => answer.status !== 200)).toEqual([])
      expect([...new Set(hosts)].sort()).toEqual(tasks.map((task) => task.host))
      expect(firstRepeat(hosts, WORKERS), `turns through ${node}: ${hosts.join(' ')}`).toBe(-1)
    }
    expect((await lab.stats()).nodes).toEqual(Object.fromEntries(tasks.map((task) => [task.host, task.node])))
  })

  it('Prometheus, on one node, scrapes every worker task on all 3 by the alias "apps", each labelled with its node', async () => {
    await whole()
    const prometheus = await lab.prometheus()
    const tasks = await lab.allServing(WORKERS)
    await waitFor(`Prometheus to scrape the ${WORKERS} tasks`, async () => {
      const targets = await prometheus.targets('workers')
      if (targets.length !== WORKERS || targets.some((target) => target.health !== 'up')) return false
      const scraped = await prometheus.query('hitcounter_hits_total')
      return scraped.map((series) => `${series.labels.worker} ${series.labels.node}`).sort().join() === tasks.map((task) => `${task.host} ${task.node}`).join()
    }, 15000, 250)
    expect(new Set((await prometheus.query('hitcounter_hits_total')).map((series) => series.labels.node)).size).toBe(NODES.length)
  })

  it('the live view, opened through any node, lists each worker under its node', async () => {
    await whole()
    const tasks = await lab.allServing(WORKERS)
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } })
      await page.goto(lab.url('n3'))
      await waitFor('a row per worker', async () => await page.locator('#rates tbody tr').count() === WORKERS, 10000, 100)
      const rows = await page.locator('#rates tbody tr').evaluateAll((trs) => trs.map((tr) =>
        [(tr as HTMLElement).dataset.worker!, (tr as HTMLElement).dataset.node!, tr.querySelector('[data-testid="node"]')!.textContent!]))
      expect(rows.map(([host, node]) => ({ host, node }))).toEqual([...tasks].sort((a, b) => `${a.node} ${a.host}`.localeCompare(`${b.node} ${b.host}`)))
      expect(rows.map(([, , label]) => label)).toEqual(rows.map(([, node]) => ` on ${node}`))
      await mkdir('test-results', { recursive: true })
      await page.screenshot({ path: 'test-results/swarm-live-view.png', fullPage: true })
    } finally {
      await browser.close()
    }
  })

  it('only the workers reach Redis and the sentinels, and only with their password: nginx cannot connect, no password gets NOAUTH, the workers\' user can neither flush nor steer a failover', async () => {
    // nginx's container is on no network with them (an address of theirs would leave it only by its default
    // route, out of the lab: not tried), and their names do not resolve there (bash's /dev/tcp, as code run there could).
    const [web] = await lab.containers('n1', 'web')
    expect(await lab.docker('n1', 'inspect', '--format', '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}', web!)).not.toContain('hitcounter_redis')
    for (const target of ['redis/6379', 'sentinel/26379']) {
      const tried = await lab.exec('n1', 'web', 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${target}`).then(() => 'connected', (err: Error) => err.message)
      expect(tried, target).toMatch(NO_ADDRESS)
    }
    // From a worker's container, on their network: each reply line to commands sent bare, then after AUTH as worker.
    const replies = async (target: string, commands: string): Promise<string[]> => (await lab.exec('n1', 'worker', 'timeout', '3', 'bash', '-c',
      `exec 3<>/dev/tcp/${target}; printf '${commands}' "$(cat /run/secrets/redis-worker)" >&3; timeout 1 cat <&3 || true`)).trim().split('\r\n')
    expect(await replies('redis/6379', 'INCRBY hits 1000\\r\\nCONFIG GET dir\\r\\n%.0s')).toEqual([expect.stringMatching(/^-NOAUTH/), expect.stringMatching(/^-NOAUTH/)])
    expect(await replies('sentinel/26379', 'SENTINEL FAILOVER hitcounter\\r\\n%.0s')).toEqual([expect.stringMatching(/^-NOAUTH/)])
    expect(await replies('redis/6379', 'AUTH worker %s\\r\\nFLUSHALL\\r\\nCONFIG SET dir /tmp\\r\\n')).toEqual(['+OK', expect.stringMatching(/^-NOPERM/), expect.stringMatching(/^-NOPERM/)])
    expect(await replies('sentinel/26379', 'AUTH worker %s\\r\\nSENTINEL FAILOVER hitcounter\\r\\nSENTINEL RESET *\\r\\n'))
      .toEqual(['+OK', expect.stringMatching(/^-NOPERM/), expect.stringMatching(/^-NOPERM/)])
  })

  // Before the scale and the drain: nothing has moved the workers yet, so whole() need not spread them again.
  it('Redis and its sentinels frozen for a minute: no worker restarts; counting resumes within 2 s of their return', async () => {
    await whole()
    const workersBefore = await lab.workers()
    const freeze = async (signal: 'STOP' | 'CONT'): Promise<void> => {
      for (const service of ['redis', 'sentinel']) for (const node of NODES) await lab.signal(node, service, signal)
    }
    await freeze('STOP')
    const outage = Date.now()
    try {
      // Past a hit's budget (3.5 s) every worker gives up on its connection: 503 at once, through every entry.
      await waitFor('every entry to answer 503 at once', async () => {
        const during = await Promise.all(NODES.map(async (node) => await lab.hit(node)))
        return during.every((answer) => answer.status === 503 && answer.ms < 1000)
      }, 30000, 250)
      await sleep(OUTAGE_MS - (Date.now() - outage))
    } finally {
      await freeze('CONT')
    }
    const back = Date.now()
    await waitFor('a hit to be counted again', async () => (await lab.hit('n1')).status === 200, 10000, 20)
    const resumedMs = Date.now() - back
    const counting = await waitFor('every worker to count again', async () => {
      const seen = new Set<string>()
      for (let i = 0; i < 2 * WORKERS; i++) {
        const answer = await lab.hit('n1')
        if (answer.status === 200) seen.add(answer.hostname)
      }
      return workersBefore.every((task) => seen.has(task.host))
    }, 20000, 100)
    console.log(`Redis frozen ${OUTAGE_MS / 1000} s: counting again ${resumedMs} ms after it came back, every worker ${resumedMs + counting} ms after`)
    expect(resumedMs).toBeLessThan(2000)
    expect(await lab.workers()).toEqual(workersBefore)
  }, OUTAGE_MS + 120000)

  it(`docker service scale ${WORKERS} -> ${2 * WORKERS} -> ${WORKERS} under load: no hit fails, counted exactly, per worker too`, async () => {
    await whole()
    const run = await underLoad(async (load) => {
      await lab.docker('n1', 'service', 'scale', '--detach=false', `hitcounter_worker=${2 * WORKERS}`)
      await loadReachesAll(load, 2 * WORKERS)
      await lab.docker('n1', 'service', 'scale', '--detach=false', `hitcounter_worker=${WORKERS}`)
    })
    expectExact(`swarm scale ${WORKERS} -> ${2 * WORKERS} -> ${WORKERS}`, run)
    expect(await lab.workers()).toHaveLength(WORKERS)
  })

  it('a node drained under load (its workers move, its Redis waits): no hit fails, counted exactly, per worker too', async () => {
    await whole()
    const primary = await lab.primaryNode()
    const drained = NODES.find((node) => node !== primary)!
    const run = await underLoad(async (load) => {
      await lab.docker('n1', 'node', 'update', '--availability', 'drain', drained)
      await waitFor(`${drained} to run no worker`, async () => (await lab.containers(drained, 'worker')).length === 0, 60000, 250)
      await loadReachesAll(load, WORKERS)
    }, NODES.filter((node) => node !== drained))
    expectExact(`drain ${drained} (the primary on ${primary})`, run)
  })

  it('the node holding the Redis primary killed under load through the other two: every hit answered 200 or 503 within 10 s, none failed when sent 10 s after, each 200 counted once', async () => {
    await whole()
    const primary = await lab.primaryNode()
    const others = NODES.filter((node) => node !== primary)
    let from = 0
    const run = await underLoad(async () => {
      from = Date.now()
      await lab.script('kill', primary)
      await sleep(NODE_LOSS_ANSWER_MS + 2000)
    }, others)
    const slowest = Math.max(...run.answers.map((answer) => answer.ms))
    const why = new Map<string, number>()
    for (const answer of run.answers) {
      if (answer.status !== 200) why.set(`${answer.status} ${answer.reason}`.slice(0, 80), (why.get(`${answer.status} ${answer.reason}`.slice(0, 80)) ?? 0) + 1)
    }
    console.log('failed, by answer:', Object.fromEntries(why))
    const newPrimary = await lab.primaryNode()
    console.log(`kill ${primary} (the primary) under load: slowest answer ${slowest.toFixed(0)} ms; the primary is now on ${newPrimary}`)
    // A 503 (a worker's, or nginx's once both its passes ran out) only for hits sent within 10 s of the loss; every hit after, 200.
    expectCountedOnce(`kill ${primary} (the primary) under load`, run, { from, until: from + NODE_LOSS_ANSWER_MS, mayFail: (answer) => answer.status === 503 })
    expect(slowest).toBeLessThan(NODE_LOSS_ANSWER_MS)
    expect(others).toContain(newPrimary)
    const after = await Promise.all(others.map(async (node) => await lab.hit(node)))
    expect(after.map((answer) => answer.status)).toEqual([200, 200])
  })
})
