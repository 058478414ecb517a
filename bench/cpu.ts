// CPU time, from the kernel's own accounting: per container (its cgroup, v1
// cpuacct or v2 cpu.stat) and per host process name (Docker's own daemons).
// Read before and after a run, divide by the requests answered: CPU time per hit.
import { readdir, readFile } from 'node:fs/promises'
import { sh } from '../harness/stack.js'
import { TICK_US } from '../harness/machine.js'

const mainPid = async (containerId: string): Promise<string> => (await sh('docker', ['inspect', '--format', '{{.State.Pid}}', containerId])).trim()

/**
 * A container's cgroup folder for a v1 controller (`cpuacct`: usage; `cpu`:
 * the quota's throttling; mounted together or apart), or its v2 folder, which
 * holds both. Found through its main process's cgroup.
 */
async function cgroupFolder (containerId: string, controller: 'cpu' | 'cpuacct' = 'cpuacct'): Promise<{ path: string, v2: boolean }> {
  const pid = await mainPid(containerId)
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n')
  const v1 = lines.find((line) => line.split(':')[1]!.split(',').includes(controller))
  if (v1 !== undefined) {
    const [, controllers, path] = v1.split(':') as [string, string, string]
    return { path: `/sys/fs/cgroup/${controllers}${path}`, v2: false }
  }
  const unified = lines.find((line) => line.startsWith('0::'))
  if (unified === undefined) throw new Error(`no CPU accounting found for container ${containerId}`)
  return { path: `/sys/fs/cgroup${unified.slice(3)}`, v2: true }
}

export interface CpuUse {
  /** µs of CPU in all. */
  total: number
  /** µs of it in the kernel (system calls, and the network stack's work done on this container's behalf). */
  kernel: number
}

const field = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)![1])

/** CPU used so far by each container. */
export async function cpuMicros (containerIds: string[]): Promise<Map<string, CpuUse>> {
  const usage = new Map<string, CpuUse>()
  for (const id of containerIds) {
    const { path, v2 } = await cgroupFolder(id)
    if (v2) {
      const stat = await readFile(`${path}/cpu.stat`, 'utf8')
      usage.set(id, { total: field(stat, 'usage_usec'), kernel: field(stat, 'system_usec') })
    } else {
      const [nanos, stat] = await Promise.all([readFile(`${path}/cpuacct.usage`, 'utf8'), readFile(`${path}/cpuacct.stat`, 'utf8')])
      usage.set(id, { total: Number(nanos) / 1000, kernel: field(stat, 'system') * TICK_US })
    }
  }
  return usage
}

/**
 * CPU µs used so far by the host processes with these names (a process that
 * ended in between is missed, so read around a run, not across stack changes).
 */
export async function processMicros (names: string[]): Promise<number> {
  let sum = 0
  for (const pid of (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const close = stat.lastIndexOf(')')
    if (close < 0 || !names.includes(stat.slice(stat.indexOf('(') + 1, close))) continue
    const [utime, stime] = stat.slice(close + 2).split(' ').slice(11, 13).map(Number) as [number, number]
    sum += (utime + stime) * TICK_US
  }
  return sum
}

export interface Throttling {
  /** Enforcement periods (each --cpu-period) in which the container wanted CPU. */
  periods: number
  /** Those of them in which it used up its quota and was stopped until the next. */
  throttled: number
  /** µs its processes were held, summed over them. */
  throttledUs: number
}

/** How often each container was stopped by its CPU quota so far (cgroup cpu.stat). */
export async function throttling (containerIds: string[]): Promise<Map<string, Throttling>> {
  const use = new Map<string, Throttling>()
  for (const id of containerIds) {
    const { path, v2 } = await cgroupFolder(id, 'cpu')
    const stat = await readFile(`${path}/cpu.stat`, 'utf8')
    use.set(id, {
      periods: field(stat, 'nr_periods'),
      throttled: field(stat, 'nr_throttled'),
      throttledUs: v2 ? field(stat, 'throttled_usec') : field(stat, 'throttled_time') / 1000
    })
  }
  return use
}

/**
 * TCP connections each container has accepted so far (its network namespace's
 * PassiveOpens, /proc/PID/net/snmp): for a worker, the connections nginx opened to it.
 */
export async function connectionsAccepted (containerIds: string[]): Promise<Map<string, number>> {
  const accepted = new Map<string, number>()
  for (const id of containerIds) {
    const [names, values] = (await readFile(`/proc/${await mainPid(id)}/net/snmp`, 'utf8')).split('\n').filter((l) => l.startsWith('Tcp:'))
    accepted.set(id, Number(values!.split(/\s+/)[names!.split(/\s+/).indexOf('PassiveOpens')]))
  }
  return accepted
}

export interface Memory {
  /** Resident set now, kB. */
  rssKb: number
  /** The most it has been resident since it started, kB. */
  peakKb: number
}

/** The memory of a container's Node process (the child of docker-init, with `init: true`), from /proc/PID/status. */
export async function nodeMemory (containerId: string): Promise<Memory> {
  const main = await mainPid(containerId)
  const children = (await readFile(`/proc/${main}/task/${main}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean)
  const status = await readFile(`/proc/${children[0] ?? main}/status`, 'utf8')
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)![1])
  return { rssKb: kb('VmRSS'), peakKb: kb('VmHWM') }
}
