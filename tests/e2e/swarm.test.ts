import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hit, Load, readStats, type HitOutcome as Hit } from '../../tools/hits.js'
import { freePort, waitFor } from '../support/wait.js'
import { eachServes, sh } from '../support/stack.js'

// deploy/swarm/hitcounter.yml on a one-node swarm of this machine's engine, with
// the images docker-compose.yml builds. Traffic to 127.0.0.1 only.
const STACK = `hitcounter-e2e-swarm-${process.pid}`
const WORKER_SERVICE = `${STACK}_worker`
let url: string
let startedSwarm = false

const docker = async (...args: string[]): Promise<string> => await sh('docker', args)
const failed = (answers: Hit[]): Hit[] => answers.filter((answer) => answer.status !== 200)

/** The hostnames of the worker service's running tasks (each task's container id). */
async function taskHostnames (): Promise<string[]> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${WORKER_SERVICE}`)).split('\n').filter(Boolean)
  if (ids.length === 0) return []
  return (await docker('inspect', '--format', '{{.Config.Hostname}}', ...ids)).split('\n').filter(Boolean).sort()
}

/** Waits until `n` worker tasks run and nginx has sent a hit to each. */
async function allServing (n: number): Promise<string[]> {
  let hosts: string[] = []
  await waitFor(`${n} swarm worker tasks`, async () => (hosts = await taskHostnames()).length === n, 90000, 200)
  await eachServes(url, hosts, 90000)
  return hosts
}

beforeAll(async () => {
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim() !== 'active') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1')
    startedSwarm = true
  }
  const port = String(await freePort())
  url = `http://127.0.0.1:${port}`
  await sh('bash', ['scripts/compose.sh', 'build', 'web', 'worker'])
  await sh('docker', ['stack', 'deploy', '-c', 'deploy/swarm/hitcounter.yml', STACK], { HTTP_PORT: port })
  await allServing(3)
})

afterAll(async () => {
  await docker('stack', 'rm', STACK).catch(() => '')
  // The stack's containers and networks go away asynchronously; then its volume can.
  await waitFor('the stack to be removed', async () => (await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`)).trim() === '', 60000, 500).catch(() => 0)
  await docker('volume', 'rm', `${STACK}_redis-data`).catch(() => '')
  if (startedSwarm) await docker('swarm', 'leave', '--force')
})

describe('Docker Swarm: the same images and nginx config, workers found through swarm DNS', () => {
  it('3 replicas rotate strictly', async () => {
    const answers: Hit[] = []
    for (let i = 0; i < 12; i++) answers.push(await hit(url))
    const sequence = answers.map((answer) => answer.hostname)
    console.log(`swarm rotation: ${sequence.join(' ')}`)
    expect(failed(answers)).toEqual([])
    expect([...new Set(sequence)].sort()).toEqual(await taskHostnames())
    for (let i = 0; i + 3 <= sequence.length; i++) expect(new Set(sequence.slice(i, i + 3)).size).toBe(3)
  })

  it('docker service scale to 5: all 5 serve, nginx untouched', async () => {
    const web = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_web`)).trim()
    await docker('service', 'scale', '--detach=false', `${WORKER_SERVICE}=5`)
    const started = Date.now()
    expect(await allServing(5)).toHaveLength(5)
    console.log(`swarm scale 3 -> 5: all 5 served ${Date.now() - started} ms after the scale converged`)
    expect((await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_web`)).trim()).toBe(web)
  })

  it('docker service update --force (rolling restart) under load: 0 failed hits, counted exactly', async () => {
    const before = await readStats(url)
    const oldTasks = await taskHostnames()
    const load = new Load(async () => await hit(url), 8)
    await docker('service', 'update', '--force', '--detach=false', WORKER_SERVICE)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const answers = await load.stop()
    const counted = (await readStats(url)).total - before.total
    console.log(`swarm rolling restart of 5 workers: ${answers.length} hits, ${failed(answers).length} failed, counter +${counted}`)
    expect(failed(answers)).toEqual([])
    expect(counted).toBe(answers.length)
    expect((await taskHostnames()).filter((host) => oldTasks.includes(host))).toEqual([])
  })
})
