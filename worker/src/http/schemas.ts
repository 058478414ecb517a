// The worker's JSON answers, declared once: the routes serialize with these
// schemas, and the balance check and the tests read answers by their types.
import { Type, type Static } from '@sinclair/typebox'

const Count = Type.Integer({ minimum: 0 })

/** `GET /` asked as JSON: who served this hit, and its number. */
export const HitReplySchema = Type.Object({
  hostname: Type.String(),
  /** This hit's own number: the counter's total once it was counted. */
  hits: Count,
  /** How many hits this worker has served, this one included. */
  workerHits: Count,
  /** This worker's colour in the live view (see StatsReply.serving); null until it is known. */
  colourSlot: Type.Union([Count, Type.Null()])
})
export type HitReply = Static<typeof HitReplySchema>

/** `GET /stats`: the counter, read without counting. */
export const StatsReplySchema = Type.Object({
  total: Count,
  /** Hits served, per worker hostname. */
  workers: Type.Record(Type.String(), Count),
  /**
   * The workers serving now (they say so every 5 s, and leave when they drain),
   * each with its colour slot: distinct among them, kept while it serves, the
   * same on every page.
   */
  serving: Type.Record(Type.String(), Count),
  /** The node (machine) each serving worker runs on. */
  nodes: Type.Record(Type.String(), Type.String()),
  /** This answer's time: ms since the epoch on Redis's clock, the one clock every worker's answer shares. */
  now: Count,
  /** The most recent hits, newest first, whoever sent them: who served each, and its number. */
  recent: Type.Array(Type.Object({ hostname: Type.String(), hits: Count }))
})
export type StatsReply = Static<typeof StatsReplySchema>

/**
 * Each worker's hits in each of the last seconds, oldest first, up to two seconds
 * before `now` (each worker writes a second once it is over): the live view's chart on first paint.
 */
export const HistoryReplySchema = Type.Object({
  now: Count,
  seconds: Type.Array(Type.Record(Type.String(), Count))
})
export type HistoryReply = Static<typeof HistoryReplySchema>

/** Every error the worker (and nginx, in the same form) answers with. */
export const ErrorReplySchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
})
export type ErrorReply = Static<typeof ErrorReplySchema>
