// What a request may be, declared once: the workers enforce it (app.ts,
// counter/hit-routes.ts), and nginx gets the same limits as lines made from these at
// image build (tools/web-errors.ts, limitsConf), with the messages that name them.

/** The methods `/` answers; any other on `/` gets 405 and an Allow header listing these. */
export const ALLOWED_METHODS = ['GET', 'HEAD'] as const
/** Methods the workers know (and answer 405 on `/`); nginx refuses any other itself. */
export const KNOWN_METHODS = [...ALLOWED_METHODS, 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** Nothing here takes a body: a larger one is refused before it is read whole. */
export const BODY_LIMIT_KB = 16
/** A request's header lines, and its request line, may be at most this long (nginx: 4 such buffers). */
export const HEADER_LINE_LIMIT_KB = 8
