import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../../worker/src/config.js'
import { ID_WINDOW_SECONDS } from '../../worker/src/plugins/counter.js'

// The timing contract that "counted exactly once" rests on, in each deployment:
// nginx waits longer on one worker than the workers' budget (so it never answers
// a hit that a live worker may still count), and all the tries of one hit, with
// the last try's budget, fit the time an id is remembered (two windows).
const ms = (value: string): number => value.endsWith('ms') ? Number(value.slice(0, -2)) : Number(value.slice(0, -1)) * 1000
async function tries (file: string): Promise<Record<string, number>> {
  const text = await readFile(file, 'utf8')
  return Object.fromEntries([...text.matchAll(/^(proxy_\w+) (\d+m?s);$/gm)].map((m) => [m[1]!, ms(m[2]!)]))
}

const swarmBudget = async (): Promise<number> => {
  const stack = parse(await readFile('deploy/swarm/hitcounter.yml', 'utf8')) as { services: { worker: { environment: Record<string, string> } } }
  return Number(stack.services.worker.environment.REDIS_TIMEOUT_MS)
}

interface Timing { budget: number, read: number, pass: number, span: number, remembered: number }

async function timing (file: string, budget: () => Promise<number>): Promise<Timing> {
  const { proxy_read_timeout: read = NaN, proxy_next_upstream_timeout: pass = NaN } = await tries(file)
  const workerBudget = await budget()
  // A pass ends at most a read timeout after its last try began (by `pass`); a
  // 502 then starts the one fresh pass (@again), whose last try gets its budget.
  return { budget: workerBudget, read, pass, span: pass + read + pass + workerBudget, remembered: 2 * ID_WINDOW_SECONDS * 1000 }
}

const DEPLOYMENTS = [
  ['Compose and Kubernetes', 'web/tries.conf', async () => loadConfig({}).REDIS_TIMEOUT_MS],
  ['Swarm', 'deploy/swarm/nginx-tries.conf', swarmBudget]
] as const

describe('nginx\'s tries against the workers\' budget and the id window', () => {
  it.each(DEPLOYMENTS)('%s (%s)', async (_where, file, budget) => {
    const { budget: workerBudget, read, span, remembered } = await timing(file, budget)
    expect(read, 'nginx waits on a worker longer than its budget').toBeGreaterThan(workerBudget)
    expect(span, 'every try of a hit falls within the id window').toBeLessThanOrEqual(remembered)
  })

  it('the table in docs/how-it-works.md gives the figures the files give', async () => {
    const doc = await readFile('docs/how-it-works.md', 'utf8')
    const table = doc.slice(doc.indexOf('## The timing contract'))
    const rows = [...table.matchAll(/^\| (?!figure|---)(.+?) \| (\d+) \| (\d+) \|$/gm)].map((m) => [Number(m[2]), Number(m[3])])
    const figures = await Promise.all(DEPLOYMENTS.map(async ([, file, budget]) => await timing(file, budget)))
    const columns = (['budget', 'read', 'pass', 'span', 'remembered'] as const).map((key) => figures.map((f) => f[key]))
    expect(rows).toEqual(columns)
  })

  it('nginx.conf takes its timeouts from the tries file only, and the images ship it', async () => {
    const conf = await readFile('web/nginx.conf', 'utf8')
    expect(conf).toMatch(/^\s*include \/etc\/nginx\/tries\.conf;$/m)
    expect(conf).not.toMatch(/^\s*proxy_(read|connect|next_upstream)_timeout/m)
    expect(await readFile('web/Dockerfile', 'utf8')).toMatch(/^COPY web\/nginx\.conf web\/tries\.conf .*\/etc\/nginx\/$/m)
  })
})
