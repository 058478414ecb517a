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

export interface Hit { status: number, hostname: string, hits: number }

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

  async down (): Promise<void> {
    await this.run('down', '--volumes', '--remove-orphans', '--timeout', '5')
  }

  /** Full ids of the running containers of a service. */
  async containerIds (service: string): Promise<string[]> {
    return (await this.run('ps', '-q', service)).split('\n').filter((id) => id !== '')
  }

  /** The hostnames Docker gave the running workers (a container's short id). */
  async workerHostnames (): Promise<string[]> {
    const ids = await this.containerIds('worker')
    const out = await sh('docker', ['inspect', '--format', '{{.Config.Hostname}} {{.State.Running}}', ...ids])
    return out.split('\n').filter((line) => line.endsWith(' true')).map((line) => line.split(' ')[0]!).sort()
  }

  async inspect (id: string, format: string): Promise<string> {
    return (await sh('docker', ['inspect', '--format', format, id])).trim()
  }

  /** One hit through nginx, asked as JSON so the number can be checked. */
  async hit (): Promise<Hit> {
    const res = await fetch(`${this.url}/`, { headers: { accept: 'application/json' } })
    if (res.status !== 200) return { status: res.status, hostname: res.headers.get('x-served-by') ?? '', hits: NaN }
    const body = await res.json() as { hostname: string, hits: number }
    return { status: res.status, hostname: body.hostname, hits: body.hits }
  }

  /** `count` hits with `concurrency` clients, each sending its next hit when the last is answered. */
  async hits (count: number, concurrency: number): Promise<Hit[]> {
    const answers: Hit[] = []
    let sent = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (sent < count) {
        sent++
        answers.push(await this.hit().catch((err: Error) => ({ status: 0, hostname: err.message, hits: NaN })))
      }
    }))
    return answers
  }

  async stats (): Promise<{ total: number, workers: Record<string, number> }> {
    return await (await fetch(`${this.url}/stats`)).json() as { total: number, workers: Record<string, number> }
  }
}
