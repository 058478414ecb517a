// Before --during sends a hit: can its command run here at all? In the check's
// image (tools/Dockerfile), which has the Docker CLI but neither an engine's
// socket nor the Compose plugin unless they are mounted, say what is missing
// and how to mount it, instead of a scale that fails halfway through a run.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** What the check's image sets, so its hints can name the image's own ways. */
export const IN_CHECK_IMAGE = process.env.HITCOUNTER_CHECK_IMAGE === '1'

export interface Machine {
  /** Whether the shell finds `program`. */
  has: (program: string) => Promise<boolean>
  /** Whether the Docker CLI has its Compose plugin. */
  hasCompose: () => Promise<boolean>
  /** Whether the CLI reaches an engine (its socket, DOCKER_HOST, or its context). */
  hasEngine: () => Promise<boolean>
  inImage: boolean
}

export const thisMachine: Machine = {
  has: async (program) => await run('sh', ['-c', 'command -v "$1"', 'sh', program]).then(() => true, () => false),
  hasCompose: async () => await run('docker', ['compose', 'version']).then(() => true, () => false),
  hasEngine: async () => await run('docker', ['version', '--format', '{{.Server.Version}}']).then(() => true, () => false),
  inImage: IN_CHECK_IMAGE
}

/**
 * The program a shell line runs first and its first argument, past any leading
 * variable assignments (`PORT=8080 docker compose …`); undefined, not judged,
 * when that is not a plain name (a subshell, a group) or an assigned value may
 * span words (`old=$(docker …) && …`).
 */
function firstProgram (command: string): [string, string | undefined] | undefined {
  const words = command.trim().split(/\s+/)
  const start = words.findIndex((word) => !/^\w+=/.test(word))
  // An assigned value that may span words (quoted, or a command's output) is past telling here.
  if (start < 0 || words.slice(0, start).some((word) => /[$`'"(]/.test(word))) return undefined
  const [program, argument] = words.slice(start)
  return program !== undefined && /^[\w./+-]+$/.test(program) ? [program, argument] : undefined
}

/** Why `command` cannot run here, in one line, or undefined when nothing is seen missing. */
export async function duringBlocker (command: string, machine: Machine = thisMachine): Promise<string | undefined> {
  if (!(await machine.has('sh'))) return '--during runs its command in a shell, and there is no sh here'
  const first = firstProgram(command)
  if (first === undefined) return undefined
  const [program, subcommand] = first
  if (!(await machine.has(program))) {
    return `--during: ${program} is not found here${machine.inImage ? ' (the check\'s image has sh and the Docker CLI only: run other tools outside it)' : ''}`
  }
  if (program !== 'docker') return undefined
  if (!(await machine.hasEngine())) {
    return `--during runs docker, but no engine answers here: ${machine.inImage ? 'mount its socket (-v /var/run/docker.sock:/var/run/docker.sock)' : 'start one, or set DOCKER_HOST'}`
  }
  if (subcommand === 'compose' && !(await machine.hasCompose())) {
    return `--during runs docker compose, and the Compose plugin is missing: ${machine.inImage ? 'mount the host\'s (-v /usr/libexec/docker/cli-plugins:/usr/libexec/docker/cli-plugins:ro), and the project folder at its own path' : 'install Compose v2'}`
  }
  return undefined
}
