import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freePort, waitFor } from '../../harness/wait.js'

const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url))

export interface ExitStatus { code: number | null, signal: NodeJS.Signals | null }

/** The built worker (`dist/server.js`, as `npm run worker` runs it) in a child process. */
export class WorkerProcess {
  output = ''
  readonly exited: Promise<ExitStatus>

  private constructor (readonly child: ChildProcess, readonly url: string) {
    child.stdout?.on('data', (chunk: Buffer) => { this.output += chunk.toString() })
    child.stderr?.on('data', (chunk: Buffer) => { this.output += chunk.toString() })
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }) as ExitStatus)
  }

  /** Runs the worker with `env` on top of a minimal environment; does not wait for it. */
  static spawn (env: Record<string, string>): WorkerProcess {
    const child = spawn(process.execPath, [SERVER], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    return new WorkerProcess(child, `http://127.0.0.1:${env.PORT ?? '3000'}`)
  }

  /** Runs the worker on a free port and waits until it answers /healthz. */
  static async start (env: Record<string, string>): Promise<WorkerProcess> {
    const worker = WorkerProcess.spawn({ HOST: '127.0.0.1', PORT: String(await freePort()), ...env })
    await waitFor('the worker to listen', async () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited early:\n${worker.output}`)
      return await fetch(`${worker.url}/healthz`).then((res) => res.ok, () => false)
    })
    return worker
  }

  /** The JSON log lines written so far. */
  logLines (): Array<Record<string, unknown>> {
    return this.output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  async stop (): Promise<ExitStatus> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    return await this.exited
  }
}
