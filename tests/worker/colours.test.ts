import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { UNKNOWN_COLOUR, WORKER_COLOURS } from '../../worker/src/colours.js'

/** WCAG's contrast ratio of white text on `hex`. */
function contrastWithWhite (hex: string): number {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 1.05 / (0.2126 * r! + 0.7152 * g! + 0.0722 * b! + 0.05)
}

describe('the workers\' colours, declared once (worker/src/colours.ts)', () => {
  it.each([...WORKER_COLOURS, UNKNOWN_COLOUR])('%s carries white text at 4.5:1 or more', (colour) => {
    expect(contrastWithWhite(colour)).toBeGreaterThanOrEqual(4.5)
  })

  it('are all different', () => {
    expect(new Set(WORKER_COLOURS).size).toBe(WORKER_COLOURS.length)
  })

  it('the page\'s style and script name no colour of a worker of their own', async () => {
    const style = await readFile('worker/src/public/live.css', 'utf8')
    const script = await readFile('worker/src/public/live.js', 'utf8')
    expect(style).not.toMatch(/\.slot-/)
    for (const colour of [...WORKER_COLOURS, UNKNOWN_COLOUR]) expect(style + script).not.toContain(colour)
    expect(script).not.toMatch(/COLOURS = \d/)
  })
})
