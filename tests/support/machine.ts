import { readFile } from 'node:fs/promises'

/** The share of this machine's CPU time that was busy over `ms`, from /proc/stat. */
export async function machineBusy (ms: number): Promise<number> {
  const sample = async (): Promise<[number, number]> => {
    const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    return [fields.reduce((sum, n) => sum + n, 0), fields[3]! + fields[4]!]
  }
  const [total1, idle1] = await sample()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const [total2, idle2] = await sample()
  return 1 - (idle2 - idle1) / (total2 - total1)
}
