import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import { chmod, mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sh, Stack } from '../../harness/stack.js'
import { freePort, waitFor } from '../../harness/wait.js'
import { hit } from '../../tools/hits.js'
import { copyOfRepository, runAction } from '../support/action.js'

// hitcounter-check (the built command, as a user runs it) against stacks whose
// load balancer we did not configure for it: plain backends named "api" behind
// nginx, configured the way the stale-address bug reaches production and the
// original demo's way, and behind HAProxy; then against this project's stack,
// also through its Action, its packed command and its image. Traffic to 127.0.0.1 only.
const CHECK = 'dist/host/tools/check.js'
/** The check's image (tools/Dockerfile), built once for this file. */
const IMAGE = `hitcounter-check-e2e:${process.pid}`
/** The image's ceiling (the issue that made it: small enough for any CI's step). */
const IMAGE_MAX_BYTES = 200 * 1000 * 1000
const STACKS = 'tests/e2e/stacks/compose.yml'
/** Between the new backends up and the old ones gone: a rolling update's delay. */
const RECREATE_PAUSE_S = 3

interface CheckRun { code: number, text: string, stderr: string, failed: string[], skipped: string[] }

/** Runs `file` with `args`: its exit code and output. */
async function exec (file: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr })
    })
  })
}

/**
 * Runs the check: the built command (a .js file), an installed one, or IMAGE
 * (`docker run` with `dockerArgs`, its JUnit file in a mounted folder); its text
 * report, and from its JUnit file the checks that failed and were skipped.
 */
async function check (args: string[], command = CHECK, dockerArgs: string[] = []): Promise<CheckRun> {
  const folder = await mkdtemp(join(tmpdir(), 'hitcounter-check-'))
  const junit = join(folder, 'check.xml')
  let run
  if (command === IMAGE) {
    // The image's own user writes the report: the folder is open to it.
    await chmod(folder, 0o777)
    run = await exec('docker', ['run', '--rm', '--network', 'host', '-v', `${folder}:/out`, ...dockerArgs, IMAGE, ...args, '--junit', '/out/check.xml'])
  } else {
    const [file, first] = command.endsWith('.js') ? [process.execPath, [command]] : [command, []]
    run = await exec(file, [...first, ...args, '--junit', junit])
  }
  const { code, stdout, stderr } = run
  const xml = await readFile(junit, 'utf8').catch(() => '')
  const cases = (tag: string): string[] => [...xml.matchAll(new RegExp(`<testcase classname="hitcounter-check" name="([^"]*)"><${tag}`, 'g'))].map((m) => m[1]!)
  return { code, text: stdout, stderr, failed: cases('failure'), skipped: cases('skipped') }
}

beforeAll(async () => {
  await sh('docker', ['build', '--quiet', '-f', 'tools/Dockerfile', '-t', IMAGE, '.'])
}, 600000)
afterAll(async () => { await sh('docker', ['image', 'rm', IMAGE]).catch(() => undefined) })

/** Someone else's stack: its load balancer (the compose profile: nginx, with `conf`, or haproxy), 3 backends. */
class Foreign {
  private constructor (readonly project: string, readonly port: number, private readonly profile: string, private readonly conf: string) {}

  static async up (profile: 'nginx' | 'haproxy', conf = ''): Promise<Foreign> {
    const stack = new Foreign(`hitcounter-foreign-${process.pid}-${profile}${conf.replace(/\W/g, '')}`, await freePort(), profile, conf)
    await stack.compose('up', '-d', '--scale', 'api=3')
    await waitFor('3 backends to answer', async () => {
      const seen = new Set<string>()
      for (let i = 0; i < 9; i++) seen.add((await hit(stack.url)).hostname)
      return seen.size === 3 && !seen.has('')
    }, 30000, 200)
    return stack
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}/`
  }

  /** The compose command line for this stack, as a shell would run it (for --during). */
  get composeLine (): string {
    return `PORT=${this.port} LB_CONF=${this.conf} docker compose -p ${this.project} -f ${STACKS} --profile ${this.profile}`
  }

  async compose (...args: string[]): Promise<string> {
    return await sh('docker', ['compose', '-p', this.project, '-f', STACKS, '--profile', this.profile, ...args], { PORT: String(this.port), LB_CONF: this.conf })
  }

  /**
   * The backends recreated as a rolling update does: the new ones up, a pause
   * (a load balancer that looks again finds them: DNS answers a second old,
   * health checks), then the old ones gone, their addresses then taken by other
   * containers, as in a stack where other services' containers start in
   * between (on Engine 26 a plain --force-recreate got the same three back).
   */
  recreateLine (backends: number): string {
    const fillers = Array.from({ length: backends }, (_, n) =>
      `docker run -d --rm --network ${this.project}_default --name ${this.project}-filler-${n + 1} nginx:1.30 sleep 300 >/dev/null`)
    return [`old=$(${this.composeLine} ps -q api)`, `${this.composeLine} up -d --no-recreate --scale api=${2 * backends}`, `sleep ${RECREATE_PAUSE_S}`,
      'docker rm -f $old >/dev/null', ...fillers].join(' && ')
  }

  async down (): Promise<void> {
    const fillers = (await sh('docker', ['ps', '-aq', '--filter', `name=${this.project}-filler-`])).split('\n').filter((id) => id !== '')
    if (fillers.length > 0) await sh('docker', ['rm', '-f', ...fillers])
    await this.compose('down', '--timeout', '1')
  }
}

const stacks: Array<{ down: () => Promise<void> }> = []
afterAll(async () => { for (const stack of stacks) await stack.down() })

describe('the command line', () => {
  it.each([
    [['--workers', '0'], '--workers must be a whole number ≥ 1 (got "0")'],
    [['--workers', '3', '--served-by', 'cookie:x'], '--served-by must be header:NAME, json:FIELD or regex:RE (got "cookie:x")'],
    [['--workers', '3', '--bogus'], "Unknown option '--bogus'"]
  ])('%j: one line on stderr, exit 2', async (args, message) => {
    const { code, stderr } = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile(process.execPath, [CHECK, ...args], (err, _stdout, errors) => {
        resolve({ code: Number((err as { code?: number } | null)?.code ?? 0), stderr: errors })
      })
    })
    expect(code).toBe(2)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr).toContain(message)
  })
})

describe('nginx with an upstream named once (the stale-address bug)', () => {
  it('a quiet stack passes, the counter\'s checks skipped (not hitcounter); scaled 3 -> 5 it fails: the two new backends are never used', async () => {
    const stack = await Foreign.up('nginx', 'naive-nginx.conf')
    stacks.push(stack)
    const quiet = await check(['--url', stack.url, '--workers', '3', '--hits', '60'])
    expect(quiet.code, quiet.text).toBe(0)
    expect(quiet.skipped).toEqual(['counter moved by exactly the hits answered', 'no number given twice'])
    const scaled = await check(['--url', stack.url, '--workers', '5', '--during', `${stack.composeLine} up -d --no-recreate --scale api=5`])
    console.log(`naive nginx, scaled 3 -> 5:\n${scaled.text}`)
    expect(scaled.code).toBe(1)
    expect(scaled.failed).toEqual(['exactly 5 backends served after the change'])
    expect(scaled.text).toMatch(/FAIL {2}exactly 5 backends served after the change: 3 served/)
    // The check's image gives the command's verdict on the same stack: the two new backends never served.
    const args = ['--url', stack.url, '--workers', '5', '--hits', '60']
    const [command, image] = [await check(args), await check(args, IMAGE)]
    expect(image.code, image.stderr).toBe(1)
    expect(image.failed).toContain('exactly 5 workers served')
    const verdict = (run: CheckRun): Pick<CheckRun, 'code' | 'failed' | 'skipped'> => ({ code: run.code, failed: run.failed, skipped: run.skipped })
    expect(verdict(image)).toEqual(verdict(command))
  })

  it('its backends recreated on new addresses: it fails, the old addresses answering 502 and no backend serving after', async () => {
    const stack = await Foreign.up('nginx', 'naive-nginx.conf')
    stacks.push(stack)
    const recreated = await check(['--url', stack.url, '--workers', '3', '--during', stack.recreateLine(3)])
    console.log(`naive nginx, backends recreated:\n${recreated.text}`)
    expect(recreated.code).toBe(1)
    expect(recreated.failed).toEqual(expect.arrayContaining(['at most 0 hits failed', 'exactly 3 backends served after the change']))
    expect(recreated.text).toMatch(/failed hit, 502 from the load balancer/)
  })
})

describe('nginx that asks Docker\'s DNS again every second (the original demo\'s way)', () => {
  it('its backends recreated on new addresses: no hit fails, the new ones serve within the join time and the old ones no more', async () => {
    const stack = await Foreign.up('nginx', 'seed-nginx.conf')
    stacks.push(stack)
    // The pause between the new backends and the old ones' end matters here: with none, its answer (up to a
    // second old) still held only the old addresses when they went, and 0 and 52 of about 770 hits failed in two runs.
    const recreated = await check(['--url', stack.url, '--workers', '3', '--during', stack.recreateLine(3)])
    console.log(`the original demo's nginx, backends recreated:\n${recreated.text}`)
    expect(recreated.code, recreated.text).toBe(0)
  })
})

describe('HAProxy with server-template and Docker\'s DNS (resolvers)', () => {
  it('passes scaled 3 -> 5 -> 2 and its 2 recreated onto new addresses, no hit failed', async () => {
    const stack = await Foreign.up('haproxy')
    stacks.push(stack)
    for (const [workers, change] of [[5, `${stack.composeLine} up -d --no-recreate --scale api=5`], [2, `${stack.composeLine} up -d --no-recreate --scale api=2`],
      [2, stack.recreateLine(2)]] as const) {
      const run = await check(['--url', stack.url, '--workers', String(workers), '--during', change])
      console.log(`HAProxy, to ${workers} backends:\n${run.text.split('\n').filter((line) => /^(PASS|FAIL|SKIP)/.test(line)).join('\n')}`)
      expect(run.code, run.text).toBe(0)
    }
  })
})

describe('this project\'s stack', () => {
  let ours: Stack
  afterAll(async () => { await ours?.down() })

  // (Its recreate, scripts/rolling-restart.sh, is checked the same way in resilience.test.ts.)
  it('passes scaled 3 -> 5 under a steady rate: no hit failed, both new workers used at once, the counter exact', async () => {
    ours = await Stack.up(3, { project: `hitcounter-foreign-ours-${process.pid}` })
    const scaled = await check(['--url', ours.url, '--workers', '5', '--during', `${ours.composeLine} up -d --no-recreate --scale worker=5`])
    console.log(`this project's stack, scaled 3 -> 5:\n${scaled.text}`)
    expect(scaled.code, scaled.text).toBe(0)
    expect(scaled.skipped).toEqual([])
  })

  it('the Action (action.yml), its steps run as the runner would from a copy of the repository: strict over the 5, a JUnit file; the packed tarball installs hitcounter-check', async () => {
    const copy = await copyOfRepository()
    const junit = join(copy, 'balance.xml')
    const steps = await runAction(copy, { url: `${ours.url}/`, workers: '5', strict: 'true', hits: '50', junit })
    expect(steps.map((step) => step.code), steps.map((step) => step.output.slice(-2000)).join('\n')).toEqual([0, 0])
    expect(steps[1]!.output).toMatch(/PASS {2}strict rotation: every 5 in a row distinct/)
    expect((await readFile(junit, 'utf8')).match(/<testcase /g)).toHaveLength(6)
    // A bad input: one line, exit 2, as from the command line (the check step alone: the copy is built).
    const bad = await runAction(copy, { url: `${ours.url}/`, workers: '5', strict: 'yes' }, 2)
    expect(bad.map((step) => step.code)).toEqual([2])
    expect(bad[0]!.output.trimEnd().split('\n')).toHaveLength(1)
    // npm pack (prepack builds the check), then npm install -g of the tarball: hitcounter-check on the PATH.
    const packed = (await sh('npm', ['pack', '--silent', '--pack-destination', copy], {}, copy)).trim().split('\n').at(-1)!
    const prefix = join(copy, 'global')
    await sh('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(copy, packed)])
    const help = await sh(join(prefix, 'bin', 'hitcounter-check'), ['--help'])
    expect(help).toContain('--served-by HOW')
    const installed = await check(['--url', `${ours.url}/`, '--workers', '5', '--hits', '50'], join(prefix, 'bin', 'hitcounter-check'))
    expect(installed.code, installed.text).toBe(0)
  })

  it('the check\'s image: passes the 5 as the command does; --during reaches the engine through its mounted socket', async () => {
    const args = ['--url', `${ours.url}/`, '--workers', '5', '--hits', '50']
    const image = await check(args, IMAGE)
    expect(image.code, image.text + image.stderr).toBe(0)
    expect(image.skipped).toEqual([])
    // A change that changes nothing, run by the image's Docker CLI against this engine.
    const socket = '/var/run/docker.sock'
    const noChange = ['--before', '1', '--after', '2', '--join-within', '1', '--during', 'docker version --format {{.Server.Version}}']
    const mounted = ['-v', `${socket}:${socket}`, '--group-add', String(statSync(socket).gid)]
    const during = await check(['--url', `${ours.url}/`, '--workers', '5', ...noChange], IMAGE, mounted)
    expect(during.code, during.text + during.stderr).toBe(0)
    expect(during.stderr).toMatch(/the command ended \(exit code 0\)/)
  })
})

describe('the check as an image (tools/Dockerfile)', () => {
  it('is small, and runs as a user of no privilege', async () => {
    const [size, user] = (await sh('docker', ['image', 'inspect', '--format', '{{.Size}} {{.Config.User}}', IMAGE])).trim().split(' ')
    console.log(`the check's image: ${(Number(size) / 1e6).toFixed(1)} MB, user ${user}`)
    expect(Number(size)).toBeLessThanOrEqual(IMAGE_MAX_BYTES)
    expect((await sh('docker', ['run', '--rm', '--entrypoint', '/bin/busybox', IMAGE, 'id', '-u'])).trim()).not.toBe('0')
  })

  it('--during with no engine\'s socket mounted: one line saying what to mount, exit 2, before any hit', async () => {
    const run = await check(['--url', 'http://127.0.0.1:9/', '--workers', '3', '--during', 'docker compose up -d --scale worker=5'], IMAGE)
    expect(run.code).toBe(2)
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('mount its socket (-v /var/run/docker.sock:/var/run/docker.sock)')
  })
})
