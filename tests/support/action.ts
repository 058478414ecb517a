// Runs this repository's Action (action.yml) as GitHub's runner would, with no
// GitHub: a copy of the repository as the action's path, each `run` step in
// bash with its env (the inputs' `${{ inputs.NAME }}` filled in, defaults from
// action.yml), in order, stopping at the first that fails. A `uses` step must
// be actions/setup-node: the Node running the tests stands for it.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { sh } from '../../harness/stack.js'

interface Step { uses?: string, run?: string, shell?: string, env?: Record<string, string> }
interface ActionFile { inputs: Record<string, { default?: string, required?: boolean }>, runs: { using: string, steps: Step[] } }

/** The repository's tracked files, as they are in the working tree, in a folder of their own. */
export async function copyOfRepository (): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'hitcounter-action-'))
  await sh('bash', ['-c', `git ls-files -z | xargs -0 cp --parents -t "${copy}"`])
  return copy
}

export interface StepRun { name: string, code: number, output: string }

/**
 * The Action's steps with `inputs`, from `actionPath`; each step's exit code and
 * output. `fromStep`: skip the steps before it (a second run in the same copy,
 * whose build the first run did).
 */
export async function runAction (actionPath: string, inputs: Record<string, string>, fromStep = 0): Promise<StepRun[]> {
  const action = parse(await readFile(join(actionPath, 'action.yml'), 'utf8')) as ActionFile
  if (action.runs.using !== 'composite') throw new Error(`action.yml runs ${action.runs.using}, not composite`)
  const value = (name: string): string => {
    const input = action.inputs[name]
    if (input === undefined) throw new Error(`action.yml has no input "${name}"`)
    const given = inputs[name] ?? input.default
    if (given === undefined && input.required === true) throw new Error(`the input "${name}" is required`)
    return given ?? ''
  }
  for (const name of Object.keys(inputs)) value(name)
  const runs: StepRun[] = []
  for (const [i, step] of action.runs.steps.entries()) {
    if (i < fromStep) continue
    if (step.uses !== undefined) {
      if (!step.uses.startsWith('actions/setup-node@')) throw new Error(`step ${i + 1} uses ${step.uses}: not stood in for here`)
      continue
    }
    if (step.shell !== 'bash') throw new Error(`step ${i + 1} has shell ${step.shell ?? '(none)'}: a composite step needs bash here`)
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, text]) =>
      [key, text.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_, name: string) => value(name))]))
    const result = await new Promise<StepRun>((resolve) => {
      execFile('bash', ['-e', '-c', step.run!], {
        env: { ...process.env, ...env, GITHUB_ACTION_PATH: actionPath, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
        maxBuffer: 64 * 1024 * 1024
      }, (err, stdout, stderr) => {
        resolve({ name: step.run!, code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), output: stdout + stderr })
      })
    })
    runs.push(result)
    if (result.code !== 0) break
  }
  return runs
}
