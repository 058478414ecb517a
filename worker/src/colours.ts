// The live view's worker colours, declared once: the page serves them as
// /colours.css (the slot-N classes its style and script use) and tells its
// script how many there are; a worker's colour is its slot (given by Redis,
// the same on every page) modulo their number.

/**
 * Picked one by one to stay far from those before (any two of the first five
 * differ by 119 or more in RGB distance), each dark enough for white text
 * (contrast 4.5:1 or more: the test checks).
 */
export const WORKER_COLOURS = ['#1d4ed8', '#c2410c', '#111827', '#c026d3', '#4d7c0f', '#0f766e', '#be185d', '#5b21b6', '#78350f', '#312e81'] as const

/** A worker whose slot is not known yet. */
export const UNKNOWN_COLOUR = '#374151'

/** The class that gives a worker its colour: `slot-N`, or `slot-none` while its slot is unknown. */
export const colourClass = (slot: number | null): string => slot === null ? 'slot-none' : `slot-${slot % WORKER_COLOURS.length}`

/** /colours.css: one class per colour, setting the --worker property the live view's style draws with. */
export function coloursCss (): string {
  return [`.slot-none { --worker: ${UNKNOWN_COLOUR}; }`, ...WORKER_COLOURS.map((colour, slot) => `.slot-${slot} { --worker: ${colour}; }`)].join('\n') + '\n'
}
