import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { FOLD_MIN_MS, loadConfig } from '../../worker/src/config.js'
import { ID_WINDOW_SECONDS } from '../../worker/src/plugins/counter.js'
import { NODE_LOSS_ANSWER_MS } from '../support/lab.js'

// The timing contract that "counted exactly once" rests on, in each deployment:
// nginx waits longer on one worker than the workers' budget (so it never answers
// a hit that a live worker may still count), and all the tries of one hit, with
// the last try's budget, fit the time an id is remembered (two windows).
const ms = (value: string): number => value.endsWith('ms') ? Number(value.slice(0, -2)) : Number(value.slice(0, -1)) * 1000
async function tries (file: string): Promise<Record<string, number>> {
  const text = await readFile(file, 'utf8')
  return Object.fromEntries([...text.matchAll(/^(proxy_\w+) (\d+m?s);$/gm)].map((m) => [m[1]!, ms(m[2]!)]))
}

/** A REDIS_TIMEOUT_MS as a deployment sets it (a compose `${NAME:-default}` read as its default), or the worker's default where it sets none. */
const budgetOf = (value: string | undefined): number =>
  loadConfig(value === undefined ? {} : { REDIS_TIMEOUT_MS: value.replace(/^\$\{\w+:-(.*)\}$/, '$1') }).REDIS_TIMEOUT_MS

type Env = Record<string, string> | undefined
const composeBudget = (file: string) => async (): Promise<number> => {
  const stack = parse(await readFile(file, 'utf8')) as { services: { worker: { environment?: Env } } }
  return budgetOf(stack.services.worker.environment?.REDIS_TIMEOUT_MS)
}
const kubernetesBudget = async (): Promise<number> => {
  const docs = parseAllDocuments(await readFile('deploy/kubernetes/base/worker.yaml', 'utf8')).map((doc) => doc.toJS() as {
    kind: string, spec?: { template?: { spec?: { containers?: Array<{ name: string, env?: Array<{ name: string, value?: string }> }> } } }
  })
  const worker = docs.find((doc) => doc.kind === 'Deployment')?.spec?.template?.spec?.containers?.find((container) => container.name === 'worker')
  if (worker === undefined) throw new Error('deploy/kubernetes/base/worker.yaml has no worker container')
  return budgetOf(worker.env?.find((variable) => variable.name === 'REDIS_TIMEOUT_MS')?.value)
}

/** The id windows count-hits.lua reads, as it lists them. */
async function idWindows (): Promise<string> {
  const lua = await readFile('worker/src/lua/count-hits.lua', 'utf8')
  const windows = /^local windows = \{(.*)\}$/m.exec(lua)?.[1]
  if (windows === undefined) throw new Error('count-hits.lua no longer lists its windows on one line')
  return windows
}

/** How long an id is surely found after it was counted: the windows the script looks back over, whole. */
async function remembered (): Promise<number> {
  const back = Math.max(0, ...[...(await idWindows()).matchAll(/\(window - (\d+)\)/g)].map((m) => Number(m[1])))
  return back * ID_WINDOW_SECONDS * 1000
}

interface Timing { budget: number, read: number, pass: number, span: number, answer: number, remembered: number }

async function timing (file: string, budget: () => Promise<number>): Promise<Timing> {
  const { proxy_read_timeout: read = NaN, proxy_next_upstream_timeout: pass = NaN } = await tries(file)
  const workerBudget = await budget()
  // A pass ends at most a read timeout after its last try began (by `pass`); a
  // 502 or 504 then starts the one fresh pass (@again), whose last try gets its
  // budget (the last that can count), or its read timeout (the last answer).
  return { budget: workerBudget, read, pass, span: pass + read + pass + workerBudget, answer: 2 * (pass + read), remembered: await remembered() }
}

const DEPLOYMENTS = [
  ['Compose', 'web/tries.conf', composeBudget('docker-compose.yml')],
  ['Kubernetes', 'web/tries.conf', kubernetesBudget],
  ['Swarm', 'deploy/swarm/nginx-tries.conf', composeBudget('deploy/swarm/hitcounter.yml')]
] as const

describe('nginx\'s tries against the workers\' budget and the id window', () => {
  it.each(DEPLOYMENTS)('%s (%s)', async (_where, file, budget) => {
    const { budget: workerBudget, read, span, remembered } = await timing(file, budget)
    expect(read, 'nginx waits on a worker longer than its budget').toBeGreaterThan(workerBudget)
    expect(span, 'every try of a hit falls within the id window').toBeLessThanOrEqual(remembered)
  })

  it('the table in docs/how-it-works.md, and the spans the comments and docs quote, give the figures the files give', async () => {
    const [compose, kubernetes, swarm] = await Promise.all(DEPLOYMENTS.map(async ([, file, budget]) => await timing(file, budget)))
    // One column for Compose and Kubernetes: the same nginx tries and the same budget.
    expect(kubernetes).toEqual(compose)
    const doc = await readFile('docs/how-it-works.md', 'utf8')
    const table = doc.slice(doc.indexOf('## The timing contract'))
    const rows = [...table.matchAll(/^\| (?!figure|---)(.+?) \| (\d+) \| (\d+) \|$/gm)].map((m) => [Number(m[2]), Number(m[3])])
    const columns = (['budget', 'read', 'pass', 'span', 'answer', 'remembered'] as const).map((key) => [compose![key], swarm![key]])
    expect(rows).toEqual(columns)
    const seconds = (ms: number): string => `${ms / 1000} s`
    expect(await readFile('web/tries.conf', 'utf8')).toContain(`${seconds(compose!.span)} here`)
    expect(await readFile('deploy/swarm/nginx-tries.conf', 'utf8')).toContain(`${seconds(swarm!.span)}, stay within the ${seconds(swarm!.remembered)}`)
    expect(await readFile('worker/src/plugins/counter.ts', 'utf8')).toContain(`${seconds(swarm!.span)} on Swarm`)
    expect(await readFile('docs/resilience.md', 'utf8')).toContain(`${seconds(compose!.span)} on Compose, ${seconds(swarm!.span)} on Swarm`)
  })

  it('on Swarm, where a node and its workers can be lost, nginx answers every hit within 10 s; the 10 s the docs and comments quote', async () => {
    const swarm = await timing('deploy/swarm/nginx-tries.conf', composeBudget('deploy/swarm/hitcounter.yml'))
    expect(swarm.answer).toBeLessThanOrEqual(NODE_LOSS_ANSWER_MS)
    expect(await readFile('deploy/swarm/nginx-tries.conf', 'utf8')).toContain(`every hit is answered within ${NODE_LOSS_ANSWER_MS / 1000} s`)
    const compose = await timing('web/tries.conf', composeBudget('docker-compose.yml'))
    expect(await readFile('web/tries.conf', 'utf8')).toContain(`within two passes' time: ${compose.answer / 1000} s`)
  })

  it('a gone worker is folded no sooner than an id window can live (each window expires whole, #windows × its width after its first write)', async () => {
    const windows = (await idWindows()).split(',').length
    expect(FOLD_MIN_MS).toBe(windows * ID_WINDOW_SECONDS * 1000)
  })

  it('nginx.conf takes its timeouts from the tries file only, and the images ship it', async () => {
    const conf = await readFile('web/nginx.conf', 'utf8')
    expect(conf).toMatch(/^\s*include \/etc\/nginx\/tries\.conf;$/m)
    expect(conf).not.toMatch(/^\s*proxy_(read|connect|next_upstream)_timeout/m)
    // The two passes the spans count: a hit's first pass, and @again after its 502 or 504, and no third.
    expect(conf).toMatch(/^\s*error_page 502 504 = @again;$/m)
    expect(/location @again \{([\s\S]*?)\n {4}\}/.exec(conf)?.[1]).not.toMatch(/= @again/)
    expect(await readFile('web/Dockerfile', 'utf8')).toMatch(/^COPY web\/nginx\.conf web\/tries\.conf .*\/etc\/nginx\/$/m)
  })
})
