import { describe, expect, it } from 'vitest'
import { SecondTally } from '../../worker/src/live-view/second-tally.js'

type Entries = Array<[second: number, hits: number]>

describe('a worker\'s hits per second, held until the second is over', () => {
  it.each([
    { name: 'nothing counted: nothing to write', adds: [], current: 10, oldest: 0, taken: [], left: [] },
    { name: 'the current second stays until it is over', adds: [[10, 3]], current: 10, oldest: 0, taken: [], left: [[10, 3]] },
    { name: 'seconds over are taken, oldest first, summed per second', adds: [[9, 2], [8, 1], [9, 4], [10, 5]], current: 10, oldest: 0, taken: [[8, 1], [9, 6]], left: [[10, 5]] },
    { name: 'seconds before the oldest shown are dropped', adds: [[3, 7], [9, 1]], current: 10, oldest: 5, taken: [[9, 1]], left: [] },
    { name: 'no hits adds no second', adds: [[9, 0]], current: 10, oldest: 0, taken: [], left: [] }
  ] satisfies Array<{ name: string, adds: Entries, current: number, oldest: number, taken: Entries, left: Entries }>)(
    '$name', ({ adds, current, oldest, taken, left }) => {
      const tally = new SecondTally()
      for (const [second, hits] of adds) tally.add(second, hits)
      expect(tally.takeBefore(current, oldest)).toEqual(taken)
      expect(tally.takeBefore(Infinity, -Infinity)).toEqual(left)
    })

  it('what could not be written is taken again with the next second\'s', () => {
    const tally = new SecondTally()
    tally.add(9, 2)
    const failed = tally.takeBefore(10, 0)
    tally.add(9, 1)
    tally.add(10, 4)
    tally.putBack(failed)
    expect(tally.takeBefore(11, 0)).toEqual([[9, 3], [10, 4]])
  })
})
