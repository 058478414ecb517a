import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort, waitFor } from './ports.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Runs a command, failing with its output when it fails. */
async function sh (file: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
    throw new Error(`${file} ${args.join(' ')} failed:\n${stderr}${stdout}`.slice(0, 8000))
  }
}

/** `docker compose` (v2) where the plugin exists, else `docker-compose` (v1.29). */
async function composeCommand (): Promise<string[]> {
  try {
    await sh('docker', ['info', '--format', '{{.ServerVersion}}'])
  } catch (err) {
    throw new Error(`The end-to-end suite needs a running Docker engine (.ci/run installs and starts one).\n${(err as Error).message}`)
  }
  try {
    await sh('docker', ['compose', 'version'])
    return ['docker', 'compose']
  } catch {
    return ['docker-compose']
  }
}

/** One answer through nginx: status 0 when no HTTP answer came at all. */
export interface Hit { status: number, hostname: string, hits: number, ms: number }

/** A steady load: `clients` loops, each sending its next hit when the last is answered, until stopped. */
export class Load {
  readonly answers: Hit[] = []
  inFlight = 0
  private running = true
  private readonly done: Promise<unknown>

  constructor (send: () => Promise<Hit>, clients: number, limit = Infinity) {
    let started = 0
    this.done = Promise.all(Array.from({ length: clients }, async () => {
      while (this.running && started < limit) {
        started++
        this.inFlight++
        const answer = await send()
        this.inFlight--
        this.answers.push(answer)
      }
    }))
  }

  async stop (): Promise<Hit[]> {
    this.running = false
    await this.done
    return this.answers
  }

  async finished (): Promise<Hit[]> {
    await this.done
    return this.answers
  }
}

/** The real docker-compose.yml, up under a project name and host port of its own. */
export class Stack {
  private constructor (
    private readonly compose: string[],
    readonly project: string,
    readonly port: number
  ) {}

  get url (): string {
    return `http://127.0.0.1:${this.port}`
  }

  static async up (workers: number): Promise<Stack> {
    const stack = new Stack(await composeCommand(), `hitcounter-e2e-${process.pid}`, await freePort())
    await stack.run('up', '-d', '--build', '--scale', `worker=${workers}`)
    await waitFor('nginx to answer', async () => await fetch(`${stack.url}/nginx-health`).then((res) => res.ok, () => false), 60000, 200)
    return stack
  }

  async run (...args: string[]): Promise<string> {
    const [file, ...base] = this.compose
    return await sh(file!, [...base, '-p', this.project, ...args], { HTTP_PORT: String(this.port) })
  }

  /** Runs one of the repository's scripts against this stack (`-p project`). */
  async script (path: string): Promise<string> {
    return await sh('bash', [path, '-p', this.project], { HTTP_PORT: String(this.port) })
  }

  async down (): Promise<void> {
    await this.run('down', '--volumes', '--remove-orphans', '--timeout', '5')
  }

  /** Full ids of the containers of a service, or of the whole stack. */
  async containerIds (service?: string): Promise<string[]> {
    return (await this.run('ps', '-q', ...(service === undefined ? [] : [service]))).split('\n').filter((id) => id !== '')
  }

  /** The hostnames Docker gave the running workers (a container's short id). */
  async workerHostnames (): Promise<string[]> {
    const ids = await this.containerIds('worker')
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

  async kill (id: string): Promise<void> {
    await sh('docker', ['kill', '--signal', 'KILL', id])
  }

  async inspect (id: string, format: string): Promise<string> {
    return (await sh('docker', ['inspect', '--format', format, id])).trim()
  }

  /** One hit through nginx, asked as JSON so the number can be checked; never throws, gives up after 10 s. */
  async hit (): Promise<Hit> {
    const started = performance.now()
    try {
      const res = await fetch(`${this.url}/`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10000) })
      const body = await res.text()
      const ms = performance.now() - started
      if (res.status !== 200) return { status: res.status, hostname: res.headers.get('x-served-by') ?? body, hits: NaN, ms }
      const { hostname, hits } = JSON.parse(body) as { hostname: string, hits: number }
      return { status: res.status, hostname, hits, ms }
    } catch (err) {
      return { status: 0, hostname: (err as Error).message, hits: NaN, ms: performance.now() - started }
    }
  }

  /** `count` hits with `concurrency` clients. */
  async hits (count: number, concurrency: number): Promise<Hit[]> {
    return await new Load(async () => await this.hit(), concurrency, count).finished()
  }

  /** Hits from `clients` loops until `stop()`. */
  load (clients: number): Load {
    return new Load(async () => await this.hit(), clients)
  }

  async stats (): Promise<{ total: number, workers: Record<string, number> }> {
    return await (await fetch(`${this.url}/stats`)).json() as { total: number, workers: Record<string, number> }
  }
}
