import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// The Node the project runs is named once, in .node-version; what cannot read
// that file (a Dockerfile's FROM, which Dependabot moves, tests/Dockerfile's too;
// package.json's engines; the Action's setup step) must name the same major.
const major = (await readFile('.node-version', 'utf8')).trim()

describe(`Node ${major}, from .node-version, everywhere`, () => {
  it('.node-version holds one major, and the Node running this test is that major', () => {
    expect(major).toMatch(/^\d+$/)
    expect(process.versions.node.split('.')[0]).toBe(major)
  })

  it.each([['worker/Dockerfile'], ['web/Dockerfile'], ['tests/Dockerfile']])(`%s builds and runs on node:${major}-slim`, async (file) => {
    const froms = [...(await readFile(file, 'utf8')).matchAll(/^FROM (node:\S+)/gm)].map((m) => m[1])
    expect(froms.length).toBeGreaterThan(0)
    for (const image of froms) expect(image).toBe(`node:${major}-slim`)
  })

  it('package.json asks for it, and its types are of it', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string }, devDependencies: Record<string, string> }
    expect(pkg.engines.node).toBe(`>=${major}`)
    expect(pkg.devDependencies['@types/node']?.split('.')[0]).toBe(major)
  })

  it('the Action sets it up, and so does any workflow step that does not run in the suite\'s image', async () => {
    const action = parse(await readFile('action.yml', 'utf8')) as { runs: { steps: Array<{ uses?: string, with?: Record<string, unknown> }> } }
    const setup = action.runs.steps.find((step) => step.uses?.startsWith('actions/setup-node@'))
    expect(String(setup?.with?.['node-version'])).toBe(major)
    const workflow = parse(await readFile('.github/workflows/balance-check.yml', 'utf8')) as { jobs: Record<string, { steps: Array<{ uses?: string, with?: Record<string, unknown> }> }> }
    const setups = Object.values(workflow.jobs).flatMap((job) => job.steps).filter((step) => step.uses?.startsWith('actions/setup-node@'))
    for (const step of setups) expect(step.with?.['node-version-file']).toBe('.node-version')
  })
})
