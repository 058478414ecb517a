import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { ID_REMEMBERED_MS } from '../../worker/src/counter/id-windows.js'
import { answerMs, composeBudget, composeEnvironments, kubernetesBudget, nginxTries, spanMs, type Tries } from '../../harness/timing.js'

// The timing contract that "counted exactly once" rests on. Each deployment
// sets the workers' budget for a hit once; web/tries.sh makes nginx's times from
// it. For every budget the script accepts: nginx waits on a worker longer than
// the worker's budget (it never answers a hit a live worker may still count),
// and all the tries of one hit, with the last try's budget, fall within the
// time an id is remembered (a try always finds the id of an earlier one).

/** nginx's times for each budget the script accepts, of every 50 ms from the worker's least (50 ms) to 10 s. */
async function acceptedBudgets (): Promise<Map<number, Tries>> {
  const candidates = Array.from({ length: 200 }, (_, i) => 50 * (i + 1))
  const made = await Promise.all(candidates.map(async (budget) => await nginxTries(budget).catch(() => undefined)))
  return new Map(candidates.flatMap((budget, i) => made[i] === undefined ? [] : [[budget, made[i]] as const]))
}

describe('nginx\'s tries, made from the workers\' budget (web/tries.sh)', () => {
  it('for every budget it accepts: nginx outwaits a live worker, and a hit\'s tries fit the id window', async () => {
    const accepted = await acceptedBudgets()
    const budgets = [...accepted.keys()]
    // Enough to hold the deployments' own (a short Redis stall; a failover), and all of one piece.
    expect(budgets.length).toBeGreaterThan(60)
    expect(budgets).toEqual(Array.from({ length: budgets.length }, (_, i) => budgets[0]! + 50 * i))
    const answers = new Set<number>()
    for (const [budget, tries] of accepted) {
      expect(tries.read, `budget ${budget}: nginx waits on a worker longer than its budget`).toBeGreaterThan(budget)
      expect(spanMs(tries, budget), `budget ${budget}: every try of a hit falls within the id window`).toBeLessThanOrEqual(ID_REMEMBERED_MS)
      expect(tries.pass, `budget ${budget}: a pass can skip a gone worker (a connect) and try another`).toBeGreaterThanOrEqual(2 * tries.connect)
      answers.add(answerMs(tries))
    }
    // One promise for every deployment: the longest wait does not depend on the budget.
    expect(answers.size).toBe(1)
  }, 60000)

  it.each([['49'], ['3501'], ['abc'], [''], ['2000ms'], ['0100']])('refuses REDIS_TIMEOUT_MS=%j, naming the variable', async (budget) => {
    await expect(nginxTries(budget)).rejects.toThrow(/REDIS_TIMEOUT_MS must be/)
  })
})

describe('each deployment sets the budget once, for web and workers alike', () => {
  const setLines = async (file: string): Promise<number> => (await readFile(file, 'utf8')).split('\n').filter((line) => /^\s*-?\s*REDIS_TIMEOUT_MS[:=]/.test(line)).length

  it.each([['docker-compose.yml'], ['deploy/swarm/hitcounter.yml']])('%s', async (file) => {
    expect(await setLines(file)).toBe(1)
    const environments = await composeEnvironments(file)
    const budget = await composeBudget(file)
    expect(environments.web?.REDIS_TIMEOUT_MS).toBe(String(budget))
    await expect(nginxTries(budget)).resolves.toBeDefined()
  })

  it('Kubernetes: one ConfigMap, which both Deployments read', async () => {
    expect(await setLines('deploy/kubernetes/base/kustomization.yaml')).toBe(1)
    interface Container { name: string, envFrom?: Array<{ configMapRef?: { name: string } }>, env?: Array<{ name: string }> }
    for (const [file, container] of [['web.yaml', 'nginx'], ['worker.yaml', 'worker']] as const) {
      const deployment = parseAllDocuments(await readFile(`deploy/kubernetes/base/${file}`, 'utf8'))
        .map((doc) => doc.toJS() as { kind: string, spec?: { template?: { spec?: { containers?: Container[] } } } })
        .find((doc) => doc.kind === 'Deployment')
      const found = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === container)
      expect(found?.envFrom, file).toContainEqual({ configMapRef: { name: 'hit-budget' } })
      expect(found?.env?.map((variable) => variable.name), file).not.toContain('REDIS_TIMEOUT_MS')
    }
    await expect(nginxTries(await kubernetesBudget())).resolves.toBeDefined()
  })

  it('nginx.conf takes its timeouts from the tries file only, gives a hit two passes, and the image writes the file at start', async () => {
    const conf = await readFile('web/nginx.conf', 'utf8')
    expect(conf).toMatch(/^\s*include \/etc\/nginx\/tries\.conf;$/m)
    expect(conf).not.toMatch(/^\s*proxy_(read|connect|next_upstream)_timeout/m)
    // The two passes the spans count: a hit's first pass, and @again after its 502 or 504, and no third.
    expect(conf).toMatch(/^\s*error_page 502 504 = @again;$/m)
    expect(/location @again \{([\s\S]*?)\n {4}\}/.exec(conf)?.[1]).not.toMatch(/= @again/)
    const dockerfile = await readFile('web/Dockerfile', 'utf8')
    expect(dockerfile).toMatch(/^COPY web\/tries\.sh \/docker-entrypoint\.d\/\d+-[\w-]+\.sh$/m)
    expect(dockerfile).toMatch(/^RUN ln -s \/tmp\/nginx-tries\.conf \/etc\/nginx\/tries\.conf$/m)
  })
})
