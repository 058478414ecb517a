// Drives a real compose stack of this repository (docker-compose.yml, plus any
// override files) under a project name and ports of its own: for the end-to-end
// tests and the benchmark. Run from the repository root (npm scripts and vitest are).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort, waitFor } from './wait.js'
import { hit, Load, readStats, type HitOutcome } from '../tools/hits.js'
import type { StatsReply } from '../worker/src/http/schemas.js'
import { composeBudget } from './timing.js'

const run = promisify(execFile)

/** Runs a command, failing with its output when it fails. */
export async function sh (file: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, cwd })
    return stdout
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
    throw new Error(`${file} ${args.join(' ')} failed:\n${stderr}${stdout}`.slice(0, 8000))
  }
}

/** Compose, chosen by scripts/compose.sh: the rule the scripts and CI use too. */
async function composeCommand (): Promise<string[]> {
  try {
    await sh('docker', ['info', '--format', '{{.ServerVersion}}'])
  } catch (err) {
    throw new Error(`A running Docker engine is needed (scripts/test.sh needs one too: it runs the suite against this machine's engine).\n${(err as Error).message}`)
  }
  return ['bash', 'scripts/compose.sh']
}

/** A hit's budget in the compose stack, as docker-compose.yml sets it. */
export const HIT_BUDGET_MS = await composeBudget('docker-compose.yml')

/** Redis's volume on tmpfs: the disk's stalls cannot fail a test about something else. */
export const REDIS_ON_TMPFS = 'tests/e2e/stacks/redis-on-tmpfs.yml'

/** What the C library says of a name that gives no address from where it is asked: unknown (Compose), or known with no address there (Swarm). */
export const NO_ADDRESS = /Name or service not known|No address associated with hostname/

export interface StackOptions {
  /** Compose project name (default: one of this process's own). */
  project?: string
  /**
   * Redis's data on the shipped volume, on the real disk: for the tests about
   * durability, and the benchmark. Otherwise on tmpfs (REDIS_ON_TMPFS).
   */
  durable?: boolean
  /** Override files on top of docker-compose.yml. */
  files?: string[]
  /** Variables for the compose files, such as extra published ports. */
  env?: Record<string, string>
  /** Compose profiles to run too (docker-compose.yml's "metrics"). */
  profiles?: string[]
}

/** The real docker-compose.yml, up under a project name and host port of its own. */
export class Stack {
  private constructor (
    private readonly compose: string[],
    readonly project: string,
    readonly env: Record<string, string>
  ) {}

  /** nginx's published port. */
  get port (): number {
    return Number(this.env.HTTP_PORT)
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}`
  }

  static async up (workers: number, options: StackOptions = {}): Promise<Stack> {
    const files = [...(options.durable === true ? [] : [REDIS_ON_TMPFS]), ...options.files ?? []]
    const profiles = (options.profiles ?? []).flatMap((profile) => ['--profile', profile])
    // COMPOSE_FILE, not -f: the repository's scripts and the balance check's --during lines then get the same files.
    const env = {
      HTTP_PORT: String(await freePort()),
      ...(files.length === 0 ? {} : { COMPOSE_FILE: ['docker-compose.yml', ...files].join(':') }),
      ...options.env
    }
    const stack = new Stack([...await composeCommand(), ...profiles], options.project ?? `hitcounter-e2e-${process.pid}`, env)
    // The README's demo command, detached.
    await stack.run('up', '-d', '--build', '--scale', `worker=${workers}`)
    await waitFor('nginx to answer', async () => await fetch(`${stack.url}/nginx-health`).then((res) => res.ok, () => false), 60000, 200)
    await eachServes(stack.url, await stack.workerHostnames(), 60000)
    return stack
  }

  /** This stack's compose command as a shell line, its variables first (for the balance check's --during). */
  get composeLine (): string {
    return [...Object.entries(this.env).map(([name, value]) => `${name}=${value}`), ...this.compose, '-p', this.project].join(' ')
  }

  async run (...args: string[]): Promise<string> {
    const [file, ...base] = this.compose
    return await sh(file!, [...base, '-p', this.project, ...args], this.env)
  }

  /** Runs one of the repository's scripts against this stack (`-p project`). */
  async script (path: string): Promise<string> {
    return await sh('bash', [path, '-p', this.project], this.env)
  }

  async down (): Promise<void> {
    const down = async (): Promise<string> => await this.run('down', '--volumes', '--remove-orphans', '--timeout', '5')
    // Compose 2.26 refuses to take a stack down whose workers are scaled to 0
    // ("could not find worker"): its containers go first, then the rest.
    await down().catch(async () => {
      const ids = (await sh('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`])).split('\n').filter((id) => id !== '')
      if (ids.length > 0) await sh('docker', ['rm', '-f', ...ids])
      return await down()
    })
    // The project's own image names (docker-compose.yml names images after the project); the layers stay.
    await sh('docker', ['image', 'rm', `${this.project}/web:latest`, `${this.project}/worker:latest`, `${this.project}/redis:latest`]).catch(() => undefined)
  }

  /** Full ids of the containers of a service, or of the whole stack. */
  async containerIds (service?: string): Promise<string[]> {
    return (await this.run('ps', '-q', ...(service === undefined ? [] : [service]))).split('\n').filter((id) => id !== '')
  }

  /** The hostnames Docker gave the running workers (a container's short id). */
  async workerHostnames (): Promise<string[]> {
    const ids = await this.containerIds('worker')
    if (ids.length === 0) return []
    const out = await sh('docker', ['inspect', '--format', '{{.Config.Hostname}} {{.State.Running}}', ...ids])
    return out.split('\n').filter((line) => line.endsWith(' true')).map((line) => line.split(' ')[0]!).sort()
  }

  /** Each container of a service (or of the stack): id → start time and restart count, to tell a restart. */
  async lifetimes (service?: string): Promise<Record<string, string>> {
    const ids = await this.containerIds(service)
    const out = await sh('docker', ['inspect', '--format', '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}', ...ids])
    return Object.fromEntries(out.trim().split('\n').map((line) => { const [id, ...rest] = line.split(' '); return [id!, rest.join(' ')] }))
  }

  async inspectNetwork (network: string, format: string): Promise<string> {
    return (await sh('docker', ['network', 'inspect', '--format', format, `${this.project}_${network}`])).trim()
  }

  /** Cuts a container off one of the stack's networks. */
  async disconnect (id: string, network: string): Promise<void> {
    await sh('docker', ['network', 'disconnect', `${this.project}_${network}`, id])
  }

  /** Attaches a container to one of the stack's networks again, under `aliases`. */
  async connect (id: string, network: string, aliases: string[]): Promise<void> {
    await sh('docker', ['network', 'connect', ...aliases.flatMap((alias) => ['--alias', alias]), `${this.project}_${network}`, id])
  }

  async kill (id: string): Promise<void> {
    await sh('docker', ['kill', '--signal', 'KILL', id])
  }

  async inspect (id: string, format: string): Promise<string> {
    return (await sh('docker', ['inspect', '--format', format, id])).trim()
  }

  /**
   * Scales the workers to `n` live (no container recreated) and, when more
   * remain, waits until nginx has sent a hit to each running worker.
   */
  async scaleTo (n: number, timeoutMs = 30000): Promise<string[]> {
    await this.run('up', '-d', '--no-recreate', '--scale', `worker=${n}`)
    const running = await this.workerHostnames()
    if (running.length !== n) throw new Error(`scaled to ${n} workers, but ${running.length} run`)
    await eachServes(this.url, running, timeoutMs)
    return running
  }

  async hit (): Promise<HitOutcome> {
    return await hit(this.url)
  }

  /** `count` hits with `concurrency` clients. */
  async hits (count: number, concurrency: number): Promise<HitOutcome[]> {
    return await new Load(async () => await hit(this.url), concurrency, count).finished()
  }

  /** Hits from `clients` loops until `stop()`. */
  load (clients: number): Load {
    return new Load(async () => await hit(this.url), clients)
  }

  async stats (): Promise<StatsReply> {
    return await readStats(this.url)
  }
}

/** Sends single hits through `url` until each of `hostnames` has answered one; the ms it took. */
export async function eachServes (url: string, hostnames: string[], timeoutMs = 30000): Promise<number> {
  const seen = new Set<string>()
  return await waitFor(`each of ${hostnames.length} workers to serve`, async () => {
    const answer = await hit(url)
    if (answer.status === 200) seen.add(answer.hostname)
    return hostnames.every((host) => seen.has(host))
  }, timeoutMs, 20)
}
