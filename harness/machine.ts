import { readFile } from 'node:fs/promises'

export const TICK_US = 10000 // USER_HZ is 100 on Linux: /proc's times are in 1/100 s

export interface CpuTime { busy: number, total: number }

/** A /proc/stat cpu line's µs busy and in all (idle and iowait are not busy). */
function cpuTime (line: string): CpuTime {
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = fields.reduce((sum, n) => sum + n, 0) * TICK_US
  return { busy: total - (fields[3]! + fields[4]!) * TICK_US, total }
}

/** CPU µs this machine has been busy so far (all cores together), and in all. */
export async function machineMicros (): Promise<CpuTime> {
  return cpuTime((await readFile('/proc/stat', 'utf8')).split('\n')[0]!)
}

/** The same for each core, in order. */
export async function coreMicros (): Promise<CpuTime[]> {
  return (await readFile('/proc/stat', 'utf8')).split('\n').filter((line) => /^cpu\d+ /.test(line)).map(cpuTime)
}

/** The share of this machine's CPU time that was busy over `ms`, from /proc/stat. */
export async function machineBusy (ms: number): Promise<number> {
  const before = await machineMicros()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = await machineMicros()
  return (after.busy - before.busy) / (after.total - before.total)
}
