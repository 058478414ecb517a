/**
 * One worker's hits per second (Redis's clock), held until the second is over
 * and written to Redis in one call a second, instead of by every batch's
 * script: the live view's history is a chart, and the worker knows its own part.
 */
export class SecondTally {
  private readonly counts = new Map<number, number>()

  add (second: number, hits: number): void {
    if (hits > 0) this.counts.set(second, (this.counts.get(second) ?? 0) + hits)
  }

  /**
   * The seconds before `current`, oldest first, taken out to be written; any
   * before `oldest` are dropped (no longer shown: Redis was away that long).
   */
  takeBefore (current: number, oldest: number): Array<[second: number, hits: number]> {
    const done: Array<[number, number]> = []
    for (const [second, hits] of this.counts) {
      if (second >= current) continue
      this.counts.delete(second)
      if (second >= oldest) done.push([second, hits])
    }
    return done.sort(([a], [b]) => a - b)
  }

  /** What could not be written goes back, to be written with the next second's. */
  putBack (entries: Array<[second: number, hits: number]>): void {
    for (const [second, hits] of entries) this.add(second, hits)
  }
}
