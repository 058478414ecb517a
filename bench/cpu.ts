// CPU time, from the kernel's own accounting: per container (its cgroup, v1
// cpuacct or v2 cpu.stat) and per host process name (Docker's own daemons).
// Read before and after a run, divide by the requests answered: CPU time per hit.
import { readdir, readFile } from 'node:fs/promises'
import { sh } from '../tests/support/stack.js'
import { TICK_US } from '../tests/support/machine.js'

/** Where a container's CPU usage is kept, found through its main process's cgroup. */
async function cgroupFolder (containerId: string): Promise<{ path: string, v2: boolean }> {
  const pid = (await sh('docker', ['inspect', '--format', '{{.State.Pid}}', containerId])).trim()
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n')
  const v1 = lines.find((line) => line.split(':')[1]!.split(',').includes('cpuacct'))
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
