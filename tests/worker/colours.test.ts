import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { colourClass, coloursCss, UNKNOWN_COLOUR, WORKER_COLOURS, WORKER_MARKS } from '../../worker/src/live-view/colours.js'

/** WCAG's contrast ratio of white text on `hex`. */
function contrastWithWhite (hex: string): number {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 1.05 / (0.2126 * r! + 0.7152 * g! + 0.0722 * b! + 0.05)
}

describe('the workers\' colours, declared once (worker/src/live-view/colours.ts)', () => {
  it.each([...WORKER_COLOURS, UNKNOWN_COLOUR])('%s carries white text at 4.5:1 or more', (colour) => {
    expect(contrastWithWhite(colour)).toBeGreaterThanOrEqual(4.5)
  })

  it('can be told apart at a glance: any two are 100 or more apart as RGB points', () => {
    const rgb = (hex: string): number[] => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16))
    for (const [i, a] of WORKER_COLOURS.entries()) {
      for (const b of WORKER_COLOURS.slice(i + 1)) expect(Math.hypot(...rgb(a).map((v, k) => v - rgb(b)[k]!)), `${a} vs ${b}`).toBeGreaterThanOrEqual(100)
    }
  })

  it('with the marks, give 40 workers 40 looks: no two of slots 0-39 share both colour and mark', () => {
    const looks = Array.from({ length: 40 }, (_, slot) => colourClass(slot))
    expect(new Set(looks).size).toBe(40)
    expect(new Set(WORKER_MARKS.map((mark) => mark.glyph)).size).toBe(WORKER_MARKS.length)
    expect(new Set(WORKER_MARKS.map((mark) => mark.dashes)).size).toBe(WORKER_MARKS.length)
    for (const [mark] of WORKER_MARKS.entries()) expect(coloursCss()).toContain(`.mark-${mark} {`)
  })

  it('the page\'s style and script name no colour of a worker of their own', async () => {
    const style = await readFile('worker/src/public/live.css', 'utf8')
    const script = await readFile('worker/src/public/live.js', 'utf8')
    expect(style).not.toMatch(/\.slot-/)
    for (const colour of [...WORKER_COLOURS, UNKNOWN_COLOUR]) expect(style + script).not.toContain(colour)
    expect(script).not.toMatch(/COLOURS = \d/)
  })
})
