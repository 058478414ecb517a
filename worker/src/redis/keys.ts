// The Redis keys the workers share, named once, for the counter and the live
// view alike. (The id windows' and the per-second history's keys are made from
// Redis's clock: counter/id-windows.ts, live-view/history.ts.)

/** The total: every hit counted, once. */
export const TOTAL_KEY = 'hits'
/** Each worker's hits, hostname → count; workers long gone are folded into EARLIER_WORKERS. Their sum is the total. */
export const PER_WORKER_KEY = 'hits:by-worker'
/** The entry of PER_WORKER_KEY that holds the hits of workers gone for longer than an hour (no hostname has a space). */
export const EARLIER_WORKERS = 'earlier workers'
/** The most recent hits, newest first ("number worker"), capped. */
export const RECENT_KEY = 'hits:recent'
/** How many of the most recent hits RECENT_KEY keeps (the count's script writes them: count-hits.lua). */
export const RECENT_HITS = 24
/** Serving workers: hostname → its last beat (ms, Redis's clock). */
export const ALIVE_KEY = 'workers:alive'
/** Every worker that counted, hostname → its last beat (ms, Redis's clock), until it is folded. */
export const SEEN_KEY = 'workers:seen'
/** Serving workers' colour slots, hostname → slot. */
export const SLOTS_KEY = 'workers:colour-slot'
/** Serving workers' nodes, hostname → node. */
export const NODES_KEY = 'workers:node'
