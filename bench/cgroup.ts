// CPU time a container has used, from the kernel's own accounting of its cgroup
// (v1 cpuacct or v2 cpu.stat), for CPU time per hit: read before and after a
// run, divide by the requests answered.
import { readFile } from 'node:fs/promises'
import { sh } from '../tests/support/stack.js'

/** Where a container's CPU usage is kept, found through its main process's cgroup. */
async function usageFile (containerId: string): Promise<{ path: string, v2: boolean }> {
  const pid = (await sh('docker', ['inspect', '--format', '{{.State.Pid}}', containerId])).trim()
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n')
  const v1 = lines.find((line) => line.split(':')[1]!.split(',').includes('cpuacct'))
  if (v1 !== undefined) {
    const [, controllers, path] = v1.split(':') as [string, string, string]
    return { path: `/sys/fs/cgroup/${controllers}${path}/cpuacct.usage`, v2: false }
  }
  const unified = lines.find((line) => line.startsWith('0::'))
  if (unified === undefined) throw new Error(`no CPU accounting found for container ${containerId}`)
  return { path: `/sys/fs/cgroup${unified.slice(3)}/cpu.stat`, v2: true }
}

/** CPU µs used so far by each container. */
export async function cpuMicros (containerIds: string[]): Promise<Map<string, number>> {
  const usage = new Map<string, number>()
  for (const id of containerIds) {
    const { path, v2 } = await usageFile(id)
    const text = await readFile(path, 'utf8')
    usage.set(id, v2 ? Number(/^usage_usec (\d+)$/m.exec(text)![1]) : Number(text) / 1000)
  }
  return usage
}
