import { readdirSync, readFileSync } from 'node:fs'
import { dirname, posix } from 'node:path'
import { describe, expect, it } from 'vitest'

// Figures are linked, not copied: the README and the docs point to the section
// of bench/results/latest.md that holds a figure of the last benchmark run. Where
// a sentence needs the figure itself, it is written as a link to its section
// whose title names its field in latest.json:
//   [0.49 %](bench/results/latest.md#idle-cost-and-joining "latest.json: idle.per_worker")
// This file compares each such figure with latest.json, rounded as the doc writes
// it; checks that every link into latest.md names one of its sections; and fails
// on a figure with a unit, not so marked, in a paragraph that speaks of the
// latest run or results (the way the stale copies were written).

const RESULTS = 'bench/results/latest.md'
const read = (file: string): string => readFileSync(file, 'utf8')
/** A doc's prose: no fenced blocks, code spans emptied (an example there is not a claim). */
const prose = (text: string): string => text.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '``')
const DOCS = ['README.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)]
  .map((file) => [file, prose(read(file))] as const)
const LATEST: unknown = JSON.parse(read('bench/results/latest.json'))

/** A marked figure: its text, the link's target, and the latest.json field the title names. */
const MARKED = /\[([^\]]+)\]\(([^)\s]+) "latest\.json: ([^"]+)"\)/g
/** A link to a latest.md: its target and anchor. */
const TO_RESULTS = /\]\(([^)\s]*latest\.md)(?:#([^)\s]*))?(?: "[^"]*")?\)/g
/** A figure as a run's figures are written: a number and its unit. */
const NUMBER = /^(-?[\d,]*\.?\d+)(\s?(?:%|×|µs|ms|s|req\/s|MB))?$/u
const FIGURE_WITH_UNIT = /\d[\d,.]*\s?(?:%|×|µs|ms|req\/s|MB)(?![\p{L}\d])/u

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')

/** A field of the results by its path: `idle.per_worker`, `scaling[2].rps`. */
function field (results: unknown, path: string): unknown {
  let value = results
  for (const [, key, index] of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (value === null || typeof value !== 'object') return undefined
    value = key !== undefined ? (value as Record<string, unknown>)[key] : (value as unknown[])[Number(index)]
  }
  return value
}

/** The figure a doc should write for a value, as it wrote `written`: the same decimals and grouping; a % is the value × 100. */
function due (written: string, value: unknown): string {
  const figure = NUMBER.exec(written)
  if (typeof value === 'string') return value
  if (figure === null || typeof value !== 'number') return `${String(value)} (not a figure this check reads)`
  const digits = figure[1]!
  const unit = figure[2] ?? ''
  const decimals = digits.split('.')[1]?.length ?? 0
  const number = unit.trim() === '%' ? value * 100 : value
  const text = digits.includes(',')
    ? number.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    : number.toFixed(decimals)
  return text + unit
}

/** Paragraphs, list items and table rows: what one claim can span. */
const blocks = (text: string): string[] => text.split(/\n\s*\n|\n(?=\s*(?:[-*]|\d+\.) |\|)/)

const marked = DOCS.flatMap(([file, text]) => [...text.matchAll(MARKED)].map((m) => ({ file, text: m[1]!, target: m[2]!, path: m[3]! })))

describe('figures are linked, not copied', () => {
  it('the check itself: a figure as latest.json gives it, at the precision written, passes; any other fails', () => {
    const results = { idle: { per_worker: 0.004854 }, scaling: [{ rps: 821.26 }, { rps: 1556.4 }] }
    expect(due('0.49 %', field(results, 'idle.per_worker'))).toBe('0.49 %')
    expect(due('0.24 %', field(results, 'idle.per_worker'))).not.toBe('0.24 %')
    expect(due('1,556 req/s', field(results, 'scaling[1].rps'))).toBe('1,556 req/s')
    expect(due('821.3', field(results, 'scaling[0].rps'))).toBe('821.3')
    expect(due('820', field(results, 'scaling[0].rps'))).not.toBe('820')
    expect(field(results, 'idle.per_hit')).toBeUndefined()
  })

  it.each(marked.map((figure) => [`${figure.file}: ${figure.text}, ${figure.path}`, figure] as const))('%s is what latest.json says', (_name, figure) => {
    expect(posix.join(dirname(figure.file), figure.target.replace(/#.*/, '')), 'a marked figure links its section of the results').toBe(RESULTS)
    const value = field(LATEST, figure.path)
    expect(value, `latest.json has no ${figure.path}`).toBeDefined()
    expect(figure.text).toBe(due(figure.text, value))
  })

  it('every link into the results names a section of bench/results/latest.md', () => {
    const sections = new Set([...read(RESULTS).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)))
    const links = DOCS.flatMap(([file, text]) => [...text.matchAll(TO_RESULTS)].map((m) => ({ file, target: m[1]!, anchor: m[2] })))
    expect(links.length).toBeGreaterThan(0)
    for (const { file, target, anchor } of links) {
      expect(posix.join(dirname(file), target), `${file} links ${target}`).toBe(RESULTS)
      if (anchor !== undefined) expect([...sections], `${file} links ${target}#${anchor}`).toContain(anchor)
    }
  })

  it.each(DOCS)('%s quotes no unmarked figure where it speaks of the latest run', (_file, text) => {
    const unmarked = blocks(text)
      .map((block) => block.replace(MARKED, '').replace(/\]\([^)]*\)/g, ']'))
      .filter((block) => /\blatest\b/i.test(block) && FIGURE_WITH_UNIT.test(block))
    expect(unmarked).toEqual([])
  })
})
