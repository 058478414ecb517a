// Drives the three-node swarm lab (scripts/swarm-lab.sh) under a name and ports
// of its own: for the end-to-end tests. Traffic goes to the nodes' entries on
// 127.0.0.1 only.
import { freePorts, waitFor } from '../../harness/wait.js'
import { eachServes, sh } from '../../harness/stack.js'
import { PrometheusApi } from './prometheus.js'
import { answerMs, composeBudget, nginxTries } from '../../harness/timing.js'
import { hit, Load, readStats, type HitOutcome } from '../../tools/hits.js'
import type { StatsReply } from '../../worker/src/http/schemas.js'

export const NODES = ['n1', 'n2', 'n3'] as const
/** After a node is lost, every hit through a surviving entry is answered within this: the Swarm stack's longest wait (harness/timing.ts). */
export const NODE_LOSS_ANSWER_MS = answerMs(await nginxTries(await composeBudget('deploy/swarm/hitcounter.yml')))
export type Node = typeof NODES[number]
const STACK = 'hitcounter'

/** A worker task: its hostname (the container's short id) and the node it runs on. */
export interface Task { host: string, node: Node }

export class Lab {
  private constructor (readonly env: Record<string, string>) {}

  static async up (workers: number): Promise<Lab> {
    const lab = new Lab({
      LAB_PORT: String(await freePorts(NODES.length)),
      LAB_METRICS_PORT: String(await freePorts(NODES.length)),
      LAB_WORKERS: String(workers),
      // One name for every run's lab: its nodes' volumes keep the images they
      // loaded, and its images, built under that compose project, keep their ids.
      LAB_NAME: 'hitcounter-e2e-lab'
    })
    // What a run that crashed left of it goes first.
    await lab.script('down')
    // Its lines say how long each step took, for whoever reads a slow run.
    console.log(await lab.script('up'))
    return lab
  }

  async script (...args: string[]): Promise<string> {
    return await sh('bash', ['scripts/swarm-lab.sh', ...args], this.env)
  }

  /** The docker CLI against one node's engine. */
  async docker (node: Node, ...args: string[]): Promise<string> {
    return await this.script('docker', node, ...args)
  }

  async down (): Promise<void> {
    await this.script('down')
  }

  url (node: Node): string {
    return `http://127.0.0.1:${Number(this.env.LAB_PORT) + NODES.indexOf(node)}`
  }

  /** Prometheus (deploy/swarm/metrics.yml), through the entry of whichever node runs it. */
  async prometheus (timeoutMs = 60000): Promise<PrometheusApi> {
    const entries = NODES.map((_, i) => new PrometheusApi(`http://127.0.0.1:${Number(this.env.LAB_METRICS_PORT) + i}`))
    let found: PrometheusApi | undefined
    await waitFor('Prometheus to answer on a node', async () => {
      for (const entry of entries) if (await entry.version().then(() => true, () => false)) found = entry
      return found !== undefined
    }, timeoutMs, 500)
    return found!
  }

  /** Starts a killed node again: its engine comes back with its swarm state, and the swarm gives it tasks again. */
  async restart (node: Node): Promise<void> {
    await sh('docker', ['start', `${this.env.LAB_NAME}-${node}`])
    await waitFor(`${node}'s engine`, async () => await this.docker(node, 'info').then(() => true, () => false), 60000, 250)
    await waitFor(`${node} to be ready in the swarm`, async () =>
      (await this.docker(node, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}}').catch(() => '')).split('\n').includes(`${node} Ready`), 60000, 500)
  }

  /** The nodes whose engines answer. */
  async liveNodes (): Promise<Node[]> {
    const live = await Promise.all(NODES.map(async (node) => await this.docker(node, 'info', '--format', '{{.Swarm.LocalNodeState}}').then(() => true, () => false)))
    return NODES.filter((_, i) => live[i])
  }

  /** The containers of one service of the stack that run on `node`, by short id. */
  async containers (node: Node, service: string): Promise<string[]> {
    const out = await this.docker(node, 'ps', '--filter', `label=com.docker.swarm.service.name=${STACK}_${service}`, '--format', '{{.ID}}')
    return out.split('\n').filter(Boolean)
  }

  /** The running worker tasks on the live nodes. */
  async workers (): Promise<Task[]> {
    const tasks: Task[] = []
    for (const node of await this.liveNodes()) {
      for (const host of await this.containers(node, 'worker')) tasks.push({ host: host.slice(0, 12), node })
    }
    return tasks.sort((a, b) => a.host.localeCompare(b.host))
  }

  /** Waits until `n` worker tasks run and each has served a hit through `node`'s entry. */
  async allServing (n: number, node: Node = 'n1', timeoutMs = 120000): Promise<Task[]> {
    let tasks: Task[] = []
    await waitFor(`${n} worker tasks`, async () => (tasks = await this.workers()).length === n, timeoutMs, 500)
    await eachServes(this.url(node), tasks.map((task) => task.host), timeoutMs)
    return tasks
  }

  /** Runs a command in the one container of `service` on `node`. */
  async exec (node: Node, service: string, ...command: string[]): Promise<string> {
    const [id] = await this.containers(node, service)
    if (id === undefined) throw new Error(`no ${service} container on ${node}`)
    return await this.docker(node, 'exec', id, ...command)
  }

  /**
   * Sends `signal` to the main process of each container of `service` on `node`,
   * from the node's engine (SIGSTOP freezes a process the way a hung machine
   * does: its connections stay open and nothing answers; SIGCONT resumes it).
   */
  async signal (node: Node, service: string, signal: 'STOP' | 'CONT'): Promise<void> {
    for (const id of await this.containers(node, service)) {
      const pid = (await this.docker(node, 'inspect', '--format', '{{.State.Pid}}', id)).trim()
      await sh('docker', ['exec', `${this.env.LAB_NAME}-${node}`, 'kill', `-${signal}`, pid])
    }
  }

  /** The node whose Redis is the primary now. */
  async primaryNode (): Promise<Node> {
    for (const node of await this.liveNodes()) {
      const role = await this.exec(node, 'redis', 'hitcounter-cli', 'ROLE').catch(() => '')
      if (role.startsWith('master')) return node
    }
    throw new Error('no Redis primary on any live node')
  }

  /** Hits from `clients` loops until `stop()`, spread over the entries of `nodes` in turn. */
  load (clients: number, nodes: readonly Node[] = NODES): Load {
    let next = 0
    // A client that waits twice as long as any hit should take: a slow answer is measured, not given up on.
    return new Load(async () => await hit(this.url(nodes[next++ % nodes.length]!), 2 * NODE_LOSS_ANSWER_MS), clients)
  }

  async stats (node: Node = 'n1'): Promise<StatsReply> {
    return await readStats(this.url(node))
  }

  async hit (node: Node): Promise<HitOutcome> {
    return await hit(this.url(node))
  }
}
