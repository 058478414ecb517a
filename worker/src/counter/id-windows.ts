// Where the hits' ids are remembered, so a hit tried again is counted once: one
// hash per window of Redis's clock (field = id, value = "number worker"), which
// expires whole. count-hits.lua looks in the windows these offsets name.

/** Each window's width. */
export const ID_WINDOW_SECONDS = 20
/**
 * The windows a try looks in, from the current one: two back, so an id is
 * found for at least 2 windows after it was counted, and one ahead, for a
 * primary after a failover whose clock is up to a window ahead of or behind
 * the last one's. The current one comes first: it is where ids are written.
 */
export const ID_WINDOW_OFFSETS = [0, -1, -2, 1] as const
export const ID_WINDOW_PREFIX = 'hits:ids:'
/** How long an id is surely found after it was counted: the windows looked back over, whole. */
export const ID_REMEMBERED_MS = -Math.min(...ID_WINDOW_OFFSETS) * ID_WINDOW_SECONDS * 1000
/** How long a window's hash lives: it expires as many windows after it began as a try looks in. */
export const ID_WINDOW_LIFE_MS = ID_WINDOW_OFFSETS.length * ID_WINDOW_SECONDS * 1000

/** Where the ids counted in the window that holds `unixSeconds` are kept. */
export const idWindowKey = (unixSeconds: number): string => `${ID_WINDOW_PREFIX}${Math.floor(unixSeconds / ID_WINDOW_SECONDS)}`
