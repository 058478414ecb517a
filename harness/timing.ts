// The timing contract as the deployments set it: each states the workers'
// budget for a hit (REDIS_TIMEOUT_MS) once, and nginx's times follow from it
// by web/tries.sh, run here as the web image runs it at start.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse, parseAllDocuments } from 'yaml'

const run = promisify(execFile)

/** nginx's times for one budget (ms): a try's connect and read, and the time to start the tries of one pass. */
export interface Tries { connect: number, read: number, pass: number }

/** What web/tries.sh writes for `budget` (a number, or the variable's text as given); rejects with its message when it refuses. */
export async function nginxTries (budget: number | string): Promise<Tries> {
  const dir = await mkdtemp(join(tmpdir(), 'hitcounter-tries-'))
  try {
    await run('sh', ['web/tries.sh', join(dir, 'tries.conf')], { env: { ...process.env, REDIS_TIMEOUT_MS: String(budget) } })
    const text = await readFile(join(dir, 'tries.conf'), 'utf8')
    const value = (name: string): number => {
      const found = new RegExp(`^proxy_${name}_timeout (\\d+)ms;$`, 'm').exec(text)?.[1]
      if (found === undefined) throw new Error(`web/tries.sh wrote no proxy_${name}_timeout in ms`)
      return Number(found)
    }
    return { connect: value('connect'), read: value('read'), pass: value('next_upstream') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The longest a hit waits for its answer: two passes over the workers (the
 * first, then nginx.conf's @again), each ending at most a read after its last
 * try began.
 */
export const answerMs = (tries: Tries): number => 2 * (tries.pass + tries.read)
/** The longest span of one hit's tries that may count it: two passes, the first one's last read, the last try's budget. */
export const spanMs = (tries: Tries, budget: number): number => 2 * tries.pass + tries.read + budget

type Env = Record<string, string | number>
interface ComposeFile { services: Record<string, { environment?: Env }> }

/** A compose file's services' environments, its YAML merge keys applied and a `${NAME:-default}` read as its default. */
export async function composeEnvironments (file: string): Promise<Record<string, Record<string, string>>> {
  const stack = parse(await readFile(file, 'utf8'), { merge: true }) as ComposeFile
  return Object.fromEntries(Object.entries(stack.services).map(([name, service]) => [name, Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value).replace(/^\$\{\w+:-(.*)\}$/, '$1')])
  )]))
}

/** The budget a compose file gives its workers. */
export async function composeBudget (file: string): Promise<number> {
  const budget = (await composeEnvironments(file)).worker?.REDIS_TIMEOUT_MS
  if (budget === undefined) throw new Error(`${file} sets no REDIS_TIMEOUT_MS for its workers`)
  return Number(budget)
}

/** The budget the Kubernetes base sets in its ConfigMap "hit-budget". */
export async function kubernetesBudget (): Promise<number> {
  const kustomization = parseAllDocuments(await readFile('deploy/kubernetes/base/kustomization.yaml', 'utf8'))[0]!.toJS() as {
    configMapGenerator: Array<{ name: string, literals?: string[] }>
  }
  const literal = kustomization.configMapGenerator.find((map) => map.name === 'hit-budget')?.literals?.find((line) => line.startsWith('REDIS_TIMEOUT_MS='))
  if (literal === undefined) throw new Error('deploy/kubernetes/base/kustomization.yaml has no hit-budget ConfigMap with REDIS_TIMEOUT_MS')
  return Number(literal.split('=')[1])
}
