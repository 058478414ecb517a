// The live view's worker colours, declared once: the page serves them as
// /colours.css (the slot-N classes its style and script use) and tells its
// script how many there are; a worker's colour is its slot (given by Redis,
// the same on every page) modulo their number.

/**
 * Searched for among the colours dark enough for white text (contrast 4.6:1
 * or more), to be as far apart as can be: any two differ by 134 or more in RGB
 * distance (the first three by 198, the first five by 144; the tests check 100).
 */
export const WORKER_COLOURS = ['#0000f8', '#900000', '#008800', '#c000f0', '#008090', '#580088', '#000018', '#787840', '#6060f0', '#d82070'] as const

/** A worker whose slot is not known yet. */
export const UNKNOWN_COLOUR = '#374151'

/**
 * Where the colours run out, a mark tells workers apart: slots 0-9 have none,
 * 10-19 a diamond beside their name and a dashed line, 20-29 a triangle and a
 * dotted line, 30-39 a circle and a dash-dot line (then again): 40 workers,
 * 40 looks.
 */
export const WORKER_MARKS = [
  { glyph: '', dashes: 'none' },
  { glyph: '◆', dashes: '10 5' },
  { glyph: '▲', dashes: '2 4' },
  { glyph: '●', dashes: '10 4 2 4' }
] as const

/** The classes that give a worker its look: `slot-N mark-M`, or `slot-none` while its slot is unknown. */
export function colourClass (slot: number | null): string {
  if (slot === null) return 'slot-none'
  return `slot-${slot % WORKER_COLOURS.length} mark-${Math.floor(slot / WORKER_COLOURS.length) % WORKER_MARKS.length}`
}

/** /colours.css: one class per colour and per mark, setting the properties the live view's style draws with. */
export function coloursCss (): string {
  return [
    `.slot-none { --worker: ${UNKNOWN_COLOUR}; }`,
    ...WORKER_COLOURS.map((colour, slot) => `.slot-${slot} { --worker: ${colour}; }`),
    ...WORKER_MARKS.map(({ glyph, dashes }, mark) => `.mark-${mark} { --mark: "${glyph === '' ? '' : `${glyph} `}"; --dashes: ${dashes}; }`)
  ].join('\n') + '\n'
}
